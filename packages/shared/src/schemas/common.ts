import { z } from "zod";
import { DtypeSchema } from "../dtypes";

/** The largest value of the database's money columns (PostgreSQL bigint). */
export const INT64_MAX = 2n ** 63n - 1n;

/**
 * The most one amount in a request may be (a price, a maxPrice, a faucet, stake, unstake or
 * withdrawal amount): 10^18 base units. The server multiplies a request's amount by at most 9
 * before it is stored (escrow = maxPrice × executions, ≤ replicas 5 + 1 tie-breaker; a re-check
 * holds 2×; slashes and stake cover are computed as bigint in JS and capped by the stake), and
 * 9 × 10^18 < 2^63 − 1 ≈ 9.22 × 10^18, so no request can overflow a bigint column. Sums of many
 * amounts (a balance) are guarded by the ledger (AMOUNT_OUT_OF_RANGE).
 */
export const MAX_AMOUNT = 10n ** 18n;

/** Money in a request: a string of integer base units (never a float), 0 … MAX_AMOUNT. */
export const AmountSchema = z
  .string()
  .max(19)
  .regex(/^(0|[1-9]\d*)$/, 'an amount is a string of integer base units, e.g. "1000"')
  .refine((v) => !/^\d+$/.test(v) || BigInt(v) <= MAX_AMOUNT, `an amount is at most ${MAX_AMOUNT} base units`);
export type Amount = z.infer<typeof AmountSchema>;

/** Money the server reports (balances, costs, sums): a string of integer base units. */
export const BalanceSchema = z.string().regex(/^(0|[1-9]\d*)$/, "an amount is a string of integer base units");

/** A keyset cursor over a bigint id (e.g. ledger entries' `before`): 1 … 2^63 − 1, digits. */
export const CursorSchema = z
  .string()
  .max(19)
  .regex(/^[1-9]\d*$/, 'a cursor is a positive integer id, e.g. "1234"')
  .refine((v) => !/^\d+$/.test(v) || BigInt(v) <= INT64_MAX, `a cursor is at most ${INT64_MAX}`);

/** Free text a client names itself with (user agent, CPU or GPU model, driver, version). */
export const LabelSchema = z.string().max(200);

export const IdSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, "not a valid id");
export const Sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, "not a sha256 hex digest");

export const BACKENDS = ["webgpu", "wasm", "cuda", "cpu"] as const;
export const BackendSchema = z.enum(BACKENDS);
export type Backend = z.infer<typeof BackendSchema>;

export const PROVIDER_KINDS = ["browser", "native"] as const;
export const ProviderKindSchema = z.enum(PROVIDER_KINDS);
export type ProviderKind = z.infer<typeof ProviderKindSchema>;

/** Region names like "eu-west" or "us-east": the part before the first dash is the continent. */
export const RegionSchema = z
  .string()
  .min(1)
  .max(32)
  .regex(/^[a-z0-9-]+$/, "regions are lowercase, e.g. eu-west");

/** A dimension in a model signature: a number, or a string for a symbolic dimension. */
export const ShapeEntrySchema = z.union([z.number().int(), z.string()]);
export const TensorInfoSchema = z.object({
  name: z.string(),
  dtype: DtypeSchema,
  shape: z.array(ShapeEntrySchema),
});
export type TensorInfo = z.infer<typeof TensorInfoSchema>;

export const MAX_RANK = 8;
export const TensorNameSchema = z.string().min(1).max(256);

/** A tensor in JSON: base64 of the raw little-endian bytes (bool one byte each), or strings. */
/** One dimension of a tensor sent to the server (ONNX sizes fit in int32 in practice). */
export const DimSchema = z
  .number()
  .int()
  .nonnegative()
  .max(2 ** 31 - 1);
export const DimsSchema = z.array(DimSchema).max(MAX_RANK);

export const TensorJsonSchema = z.object({
  dtype: DtypeSchema,
  dims: DimsSchema,
  data: z.union([z.string(), z.array(z.string())]),
});
export type TensorJson = z.infer<typeof TensorJsonSchema>;

export const TensorMapJsonSchema = z.record(TensorNameSchema, TensorJsonSchema);
export type TensorMapJson = z.infer<typeof TensorMapJsonSchema>;
