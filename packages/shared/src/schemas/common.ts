import { z } from "zod";
import { DtypeSchema } from "../dtypes";

/** Money: a string of integer base units (never a float). */
export const AmountSchema = z
  .string()
  .regex(/^(0|[1-9]\d{0,29})$/, "an amount is a string of integer base units, e.g. \"1000\"");
export type Amount = z.infer<typeof AmountSchema>;

export const IdSchema = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/, "not a valid id");
export const Sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, "not a sha256 hex digest");

export const BACKENDS = ["webgpu", "wasm", "cuda", "cpu"] as const;
export const BackendSchema = z.enum(BACKENDS);
export type Backend = z.infer<typeof BackendSchema>;

export const PROVIDER_KINDS = ["browser", "native"] as const;
export const ProviderKindSchema = z.enum(PROVIDER_KINDS);
export type ProviderKind = z.infer<typeof ProviderKindSchema>;

/** Region names like "eu-west" or "us-east": the part before the first dash is the continent. */
export const RegionSchema = z.string().min(1).max(32).regex(/^[a-z0-9-]+$/, "regions are lowercase, e.g. eu-west");

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
export const TensorJsonSchema = z.object({
  dtype: DtypeSchema,
  dims: z.array(z.number().int().nonnegative()).max(MAX_RANK),
  data: z.union([z.string(), z.array(z.string())]),
});
export type TensorJson = z.infer<typeof TensorJsonSchema>;

export const TensorMapJsonSchema = z.record(TensorNameSchema, TensorJsonSchema);
export type TensorMapJson = z.infer<typeof TensorMapJsonSchema>;
