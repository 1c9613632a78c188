import { z } from "zod";
import { DtypeSchema } from "../dtypes";
import { SealedBoxSchema, TeeEvidenceSchema } from "./tee";
import { AmountSchema, BalanceSchema, BackendSchema, DimsSchema, IdSchema, LabelSchema, ProviderKindSchema, RegionSchema, Sha256Schema, TensorNameSchema } from "./common";

/**
 * The provider protocol on the socket.io namespace `/provider` (docs/PROTOCOL.md tells it message
 * by message). Tensors travel as binary: `data` is the raw little-endian bytes (socket.io sends
 * Buffers/Uint8Arrays as binary attachments), or an array of strings for `string`.
 */
export const PROTOCOL_VERSION = 1;
export const PROVIDER_NAMESPACE = "/provider";

export const HandshakeAuthSchema = z.object({
  apiKey: z.string().min(1).max(200),
  protocolVersion: z.literal(PROTOCOL_VERSION),
});
export type HandshakeAuth = z.infer<typeof HandshakeAuthSchema>;

const BytesSchema = z.custom<Uint8Array>((v) => v instanceof Uint8Array || v instanceof ArrayBuffer, "binary bytes");

export const WireTensorSchema = z.object({
  dtype: DtypeSchema,
  dims: DimsSchema,
  data: z.union([BytesSchema, z.array(z.string())]),
});
export type WireTensor = z.infer<typeof WireTensorSchema>;
export const WireTensorMapSchema = z.record(TensorNameSchema, WireTensorSchema);
export type WireTensorMap = z.infer<typeof WireTensorMapSchema>;

/** A duration a provider reports, in milliseconds: at most a week. */
export const DurationMsSchema = z
  .number()
  .nonnegative()
  .max(7 * 24 * 3600 * 1000);

export const GpuInfoSchema = z.object({
  name: LabelSchema,
  /** Up to 16 TiB. */
  vramMb: z
    .number()
    .int()
    .nonnegative()
    .max(2 ** 24),
  computeCapability: z.number().nonnegative().max(100).optional(),
  driver: LabelSchema.optional(),
});
/** What a provider says it runs on (shown in GET /providers: every field bounded). */
export const ProviderSpecsSchema = z.object({
  cpuModel: LabelSchema.optional(),
  cores: z.number().int().positive().max(65_536),
  /** Up to 1 PiB. */
  memoryMb: z
    .number()
    .int()
    .nonnegative()
    .max(2 ** 30),
  gpus: z.array(GpuInfoSchema).max(16).default([]),
  /** Measured at start on the built-in benchmark: inferences per second of a small MLP. */
  benchmarkIps: z.number().nonnegative().max(1e9).optional(),
  userAgent: z.string().max(512).optional(),
});
export type ProviderSpecs = z.infer<typeof ProviderSpecsSchema>;

/** provider → server `provider:register` (ack: RegisterAck). */
export const RegisterSchema = z.object({
  name: z.string().min(1).max(100),
  kind: ProviderKindSchema,
  backend: BackendSchema,
  region: RegionSchema.default("local"),
  /** Flat price per execution; with pricePerUnit an execution costs price + pricePerUnit × the model's units (docs/PRICING.md). */
  price: AmountSchema,
  pricePerUnit: AmountSchema.optional(),
  slots: z.number().int().min(1).max(64).default(1),
  specs: ProviderSpecsSchema,
  version: z.string().max(40).optional(),
  /** A TEE provider's evidence, answering the nonce of `provider:challenge` (docs/TEE.md). */
  tee: TeeEvidenceSchema.optional(),
});
export type Register = z.infer<typeof RegisterSchema>;

/**
 * provider → server `provider:price` (ack: PriceAck): a new quote (the parts given replace the
 * registered ones), or none to read the price index — what a provider following it reprices from.
 */
export const PriceSchema = z.object({ price: AmountSchema.optional(), pricePerUnit: AmountSchema.optional() });
export type PriceUpdate = z.infer<typeof PriceSchema>;

/** provider → server `provider:challenge` (ack: ChallengeAck): a fresh single-use nonce for TEE evidence. */
export const ChallengeSchema = z.object({});

/** provider → server `provider:attest` (ack: Ack): fresh evidence (on a schedule), answering the latest challenge. */
export const AttestSchema = z.object({ tee: TeeEvidenceSchema });

export const AckErrorSchema = z.object({ ok: z.literal(false), error: z.object({ code: z.string().max(64), message: z.string().max(2000) }) });
export const RegisterAckSchema = z.union([z.object({ ok: z.literal(true), providerId: IdSchema }), AckErrorSchema]);
export type RegisterAck = z.infer<typeof RegisterAckSchema>;
export const ChallengeAckSchema = z.union([z.object({ ok: z.literal(true), nonce: z.string().regex(/^[0-9a-f]{64}$/) }), AckErrorSchema]);
export type ChallengeAck = z.infer<typeof ChallengeAckSchema>;
/** The provider's quote now and the index's median per-unit clearing price on its backend (null before any clearing). */
export const PriceAckSchema = z.union([
  z.object({
    ok: z.literal(true),
    price: BalanceSchema,
    pricePerUnit: BalanceSchema,
    index: z.object({ perUnit: BalanceSchema, samples: z.number().int() }).nullable(),
  }),
  AckErrorSchema,
]);
export type PriceAck = z.infer<typeof PriceAckSchema>;

/** A field element of BN254's scalar field as a decimal string (what snarkjs reads and writes). */
export const FieldDecimalSchema = z.string().regex(/^(0|[1-9][0-9]{0,76})$/, "a decimal field element");

/** A Groth16 proof as snarkjs writes it (decimal coordinates on bn128). */
export const Groth16ProofSchema = z.object({
  pi_a: z.array(FieldDecimalSchema).min(2).max(3),
  pi_b: z.array(z.array(FieldDecimalSchema).length(2)).min(2).max(3),
  pi_c: z.array(FieldDecimalSchema).min(2).max(3),
  protocol: z.literal("groth16"),
  curve: z.literal("bn128"),
});
export type Groth16Proof = z.infer<typeof Groth16ProofSchema>;

/**
 * A zk task's proving job (verification mode `zk`, docs/PROTOCOL.md): prove the model's circuit
 * (circuits/zkml) on the task's input. The provider fetches the circuit's witness generator and
 * proving key (cache them by `circuitHash`), builds the witness with `zkWitnessInput` and proves
 * with snarkjs (`proveZkJob`).
 */
export const ZkJobSchema = z.object({
  /** sha256 of the proving key: the same circuit and keys whatever the URL. */
  circuitHash: Sha256Schema,
  /** The circuit's witness generator (circom WASM). */
  wasmUrl: z.string().max(2048),
  /** The Groth16 proving key (snarkjs .zkey). */
  zkeyUrl: z.string().max(2048),
  /** The input tensor the circuit takes (its values, row-major, batch 1). */
  input: TensorNameSchema,
  inputSize: z
    .number()
    .int()
    .positive()
    .max(2 ** 31 - 1),
  /** Fixed point: a real x enters the circuit as round(x · 2^scaleBits). */
  scaleBits: z.number().int().min(1).max(64),
  /** The task and the provider the proof is bound to (public signals), as field elements. */
  taskSignal: FieldDecimalSchema,
  providerSignal: FieldDecimalSchema,
});
export type ZkJob = z.infer<typeof ZkJobSchema>;

/** A proof of a zk job: the outputs it proves are in `publicSignals` (circuits/README.md has the layout). */
export const ZkProofSchema = z.object({
  proof: Groth16ProofSchema,
  publicSignals: z.array(FieldDecimalSchema).min(4).max(65_536),
  /** Witness + proof time on the provider (ms). */
  proveMs: DurationMsSchema.optional(),
});
export type ZkProof = z.infer<typeof ZkProofSchema>;

/** server → provider `task:assign` (ack: AssignAck). */
export const AssignSchema = z.object({
  assignmentId: IdSchema,
  taskId: IdSchema,
  model: z.object({ id: IdSchema, sha256: Sha256Schema, sizeBytes: z.number().int().nonnegative(), url: z.string().max(2048) }),
  inputs: WireTensorMapSchema,
  /** Milliseconds the provider has before the lease lapses (heartbeats extend it). */
  leaseMs: z
    .number()
    .int()
    .positive()
    .max(7 * 24 * 3600 * 1000),
  /** Set for a zk task: the result must carry a proof of this job. */
  zk: ZkJobSchema.optional(),
  /** A sealed task (privacy "tee"): `inputs` is empty and this box, sealed to the provider's attested key, holds them. */
  sealed: SealedBoxSchema.optional(),
});
export type Assign = z.infer<typeof AssignSchema>;
export const AssignAckSchema = z.union([z.object({ ok: z.literal(true) }), AckErrorSchema]);
export type AssignAck = z.infer<typeof AssignAckSchema>;

export const TimingsSchema = z.object({
  fetchMs: DurationMsSchema,
  loadMs: DurationMsSchema,
  runMs: DurationMsSchema,
  /** Tasks that shared this inference (dynamic batching; absent: ran alone). runMs is then the whole batch's. */
  batch: z.number().int().min(2).max(1024).optional(),
});
export type Timings = z.infer<typeof TimingsSchema>;

/** provider → server `task:result` (ack: Ack). */
export const ResultSchema = z.object({
  assignmentId: IdSchema,
  outputs: WireTensorMapSchema,
  timings: TimingsSchema,
  /** Required when the assignment had a zk job. */
  zk: ZkProofSchema.optional(),
  /** A sealed task's outputs, sealed to the requester's reply key (`outputs` is then empty). */
  sealed: SealedBoxSchema.optional(),
});
export type Result = z.infer<typeof ResultSchema>;

/**
 * The stable codes a provider puts in `task:error` (docs/PROTOCOL.md § task:error), one list for
 * both agents (packages/provider-core's ProviderError carries them):
 * - MODEL_FETCH_FAILED: the model file could not be downloaded
 * - MODEL_HASH_MISMATCH: the downloaded bytes do not hash to the assignment's sha256 (or overran sizeBytes)
 * - MODEL_LOAD_FAILED: onnxruntime could not create a session from the file
 * - MODEL_EXTERNAL_DATA: the model keeps tensor data in external files (refused before onnxruntime
 *   sees it: onnxruntime would read them from the provider's machine — issue #12)
 * - INPUT_INVALID: an input tensor is malformed (size, dtype, bool values, unknown name)
 * - RUN_FAILED: onnxruntime failed while running (wrong shapes, missing inputs, kernel errors)
 * - CUDA_UNAVAILABLE: a native agent asked for CUDA where its execution provider cannot load
 * - WEBGPU_UNAVAILABLE: a browser agent asked for WebGPU where onnxruntime-web cannot run on it
 * - PROOF_FAILED: a zk task's proof could not be made (circuit download, key mismatch, input,
 *   witness out of range, snarkjs, timeout)
 * - SEALED_INVALID: a sealed task's input does not open with the provider's TEE key for this model
 *   (sealed to an earlier key, tampered, or for another model)
 * - TEE_UNAVAILABLE: a TEE agent cannot produce evidence here (no TDX/SEV-SNP guest interface)
 */
export const PROVIDER_ERROR_CODES = [
  "MODEL_FETCH_FAILED",
  "MODEL_HASH_MISMATCH",
  "MODEL_LOAD_FAILED",
  "MODEL_EXTERNAL_DATA",
  "INPUT_INVALID",
  "RUN_FAILED",
  "CUDA_UNAVAILABLE",
  "WEBGPU_UNAVAILABLE",
  "PROOF_FAILED",
  "SEALED_INVALID",
  "TEE_UNAVAILABLE",
] as const;
export const ProviderErrorCodeSchema = z.enum(PROVIDER_ERROR_CODES);
export type ProviderErrorCode = z.infer<typeof ProviderErrorCodeSchema>;

/**
 * provider → server `task:error` (ack: Ack): the execution failed on the provider. `code` is one of
 * PROVIDER_ERROR_CODES from today's agents; the server takes any short code, so an agent newer than
 * the server can add one without its errors being refused.
 */
export const ExecutionErrorSchema = z.object({
  assignmentId: IdSchema,
  code: z.string().max(64),
  message: z.string().max(2000),
});
export type ExecutionError = z.infer<typeof ExecutionErrorSchema>;

/** provider → server `task:release` (ack: Ack): give an unfinished lease back (e.g. shutting down). */
export const ReleaseSchema = z.object({ assignmentId: IdSchema });

/** server → provider `task:cancel`: stop work on an assignment; its result will not be accepted. */
export const CancelSchema = z.object({ assignmentId: IdSchema, reason: z.string().max(200) });
export type Cancel = z.infer<typeof CancelSchema>;

/** provider → server `provider:heartbeat` (no ack): extends the leases of running assignments. */
export const HeartbeatSchema = z.object({ active: z.number().int().nonnegative().max(1024) });

/** provider → server `provider:drain` (ack: Ack): stop sending new work, the provider is leaving. */
export const DrainSchema = z.object({});

export const AckSchema = z.union([z.object({ ok: z.literal(true) }), AckErrorSchema]);
export type Ack = z.infer<typeof AckSchema>;

/** Event names in one place, so both ends agree. */
export const PROVIDER_EVENTS = {
  register: "provider:register",
  challenge: "provider:challenge",
  attest: "provider:attest",
  heartbeat: "provider:heartbeat",
  price: "provider:price",
  drain: "provider:drain",
  assign: "task:assign",
  result: "task:result",
  error: "task:error",
  release: "task:release",
  cancel: "task:cancel",
} as const;
