import { z } from "zod";
import { AmountSchema, BalanceSchema, BackendSchema, CursorSchema, IdSchema, ProviderKindSchema, RegionSchema, Sha256Schema, TensorInfoSchema, TensorMapJsonSchema } from "./common";
import { FieldDecimalSchema, Groth16ProofSchema } from "./protocol";
import { SealedBoxSchema, SealedInputSchema, TeeAttestationViewSchema, TeeEvidenceSchema, TeeKindSchema } from "./tee";

// ---- accounts and money -------------------------------------------------------------------

export const CreateAccountResponseSchema = z.object({ accountId: z.string(), apiKey: z.string() });
/** A body that is one amount: faucet, stake and unstake (the handlers require it to be > 0). */
export const AmountRequestSchema = z.object({ amount: AmountSchema });
export type AmountRequest = z.infer<typeof AmountRequestSchema>;
/** An account's balances: `balance` spendable, `escrow` held for tasks, `stake` backing its providers' work. */
export const AccountViewSchema = z.object({
  accountId: z.string(),
  balance: BalanceSchema,
  escrow: BalanceSchema,
  stake: BalanceSchema,
  /** Stored bytes charged to the account (its models, its tasks' inputs until purged) and its quota. */
  storage: z.object({ usedBytes: BalanceSchema, quotaBytes: BalanceSchema }).optional(),
});
export type AccountView = z.infer<typeof AccountViewSchema>;

export const LedgerEntryViewSchema = z.object({
  id: z.string(),
  txId: z.string(),
  account: z.string(),
  amount: z.string().regex(/^-?\d+$/),
  kind: z.string(),
  taskId: z.string().nullable(),
  createdAt: z.string(),
});
export type LedgerEntryView = z.infer<typeof LedgerEntryViewSchema>;
export const LedgerQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  /** Entries with an id below this one (the last page's smallest id). */
  before: CursorSchema.optional(),
});

// ---- models -------------------------------------------------------------------------------

export const UploadModelQuerySchema = z.object({ name: z.string().min(1).max(200).optional() });
export const ModelViewSchema = z.object({
  id: z.string(),
  sha256: Sha256Schema,
  name: z.string(),
  sizeBytes: z.number().int(),
  inputs: z.array(TensorInfoSchema),
  outputs: z.array(TensorInfoSchema),
  ownerId: z.string(),
  createdAt: z.string(),
});
export type ModelView = z.infer<typeof ModelViewSchema>;

/**
 * Whether tasks on a model can use verification mode `zk`, and its circuit's state: `unsupported`
 * (with the reason), `compiling` (circuit and keys being built; zk tasks queue meanwhile), `ready`,
 * or `failed`. `fee`: what proving adds to each zk execution's price, in base units.
 */
export const ZkModelStatusSchema = z.object({
  modelId: z.string(),
  status: z.enum(["unsupported", "compiling", "ready", "failed"]),
  message: z.string().optional(),
  unsupported: z.array(z.object({ op: z.string(), node: z.string(), reason: z.string().optional() })).optional(),
  constraints: z.number().int().optional(),
  fee: BalanceSchema.optional(),
  modelHash: FieldDecimalSchema.optional(),
  circuitHash: Sha256Schema.optional(),
  nPublic: z.number().int().optional(),
});
export type ZkModelStatus = z.infer<typeof ZkModelStatusSchema>;

/** `POST /models/:id/zk/escrow-terms`: the input a zk task on the model will prove. */
export const ZkEscrowTermsRequestSchema = z.object({ id: IdSchema, inputs: TensorMapJsonSchema });
export type ZkEscrowTermsRequest = z.infer<typeof ZkEscrowTermsRequestSchema>;

/**
 * What a `createZkTask` escrow paying a zk task must name (docs/CHAIN.md "Paying a task from an
 * on-chain escrow"): a new task id and its bytes32 (`escrowId`: the escrow's id, which the proof
 * binds and the task takes), the model hash and the input's hash. Submit with
 * `escrow: { taskId: escrowId }` and the same inputs.
 */
export const ZkEscrowTermsSchema = z.object({
  taskId: z.string(),
  escrowId: z.string().regex(/^0x[0-9a-f]{64}$/),
  modelHash: FieldDecimalSchema,
  inputHash: FieldDecimalSchema,
});
export type ZkEscrowTerms = z.infer<typeof ZkEscrowTermsSchema>;

// ---- tasks --------------------------------------------------------------------------------

/**
 * none: one unchecked execution; redundant: replicas compared; auto: adaptive replication
 * (docs/QA.md); zk: one execution with a Groth16 proof that output = model(input), checked by the
 * server and settleable on chain (only for models the zkML compiler supports: circuits/README.md).
 */
export const VERIFICATION_MODES = ["none", "redundant", "auto", "zk"] as const;
export const VerificationModeSchema = z.enum(VERIFICATION_MODES);
export type VerificationMode = z.infer<typeof VerificationModeSchema>;

/** GET /api/v1/quote's query (docs/PRICING.md): the model, the verification mode and its replicas, optionally a backend. */
export const QuoteRequestSchema = z.object({
  modelId: IdSchema,
  mode: VerificationModeSchema.default("auto"),
  replicas: z.coerce.number().int().min(2).max(5).optional(),
  backend: BackendSchema.optional(),
});
export type QuoteRequest = z.infer<typeof QuoteRequestSchema>;

/**
 * What a task on a model is expected to cost and wait. Amounts are base units. `source`: `index`
 * (the median per-unit price of recent clearings in the model's class), `asks` (no clearing yet:
 * the median ask of the providers connected now) or `default` (neither: DEFAULT_MAX_PRICE).
 * `pricePerExecution` excludes the zk proving fee; `total` = (pricePerExecution + zk fee) ×
 * `executions` (the most the mode runs, as the escrow holds). `zk.basis`: whether the model's
 * circuit is `built` or still an `estimate` — the fee is priced on the front end's estimate either
 * way, so it is the fee a submit is charged. `expectedWaitMs`: null when no provider is connected.
 */
export const QuoteSchema = z.object({
  modelId: z.string(),
  mode: VerificationModeSchema,
  units: BalanceSchema,
  modelClass: z.number().int(),
  source: z.enum(["index", "asks", "default"]),
  pricePerUnit: BalanceSchema,
  pricePerExecution: BalanceSchema,
  executions: z.number().int(),
  total: BalanceSchema,
  defaultMaxPrice: BalanceSchema,
  zk: z.object({ fee: BalanceSchema, constraints: z.number().int(), basis: z.enum(["built", "estimate"]) }).optional(),
  queueDepth: z.number().int(),
  freeSlots: z.number().int(),
  expectedWaitMs: z.number().int().nullable(),
  samples: z.number().int(),
});
export type Quote = z.infer<typeof QuoteSchema>;

export const VerificationRequestSchema = z.object({
  mode: VerificationModeSchema.default("auto"),
  /** Independent executions for `redundant` (a tie-breaker is added on disagreement). */
  replicas: z.number().int().min(2).max(5).optional(),
  /** Compare classifier outputs by argmax instead of value tolerance. */
  argmax: z.boolean().optional(),
  /**
   * `auto` only. When no provider of another operator is registered to check a new provider's
   * result and the server cannot referee the model, run it alone, unchecked (receipt check
   * `single`), instead of waiting for a checker until the deadline. Off by default.
   */
  allowSingle: z.boolean().optional(),
});
export type VerificationRequest = z.infer<typeof VerificationRequestSchema>;

export const PRIVACY_LEVELS = ["none", "tee", "zk"] as const;
export const RequirementsSchema = z.object({
  backend: BackendSchema.optional(),
  kind: ProviderKindSchema.optional(),
  minVramMb: z
    .number()
    .int()
    .nonnegative()
    .max(2 ** 24)
    .optional(),
  minComputeCapability: z.number().nonnegative().max(100).optional(),
  region: RegionSchema.optional(),
  privacy: z.enum(PRIVACY_LEVELS).optional(),
});
export type Requirements = z.infer<typeof RequirementsSchema>;

/** An on-chain escrow a submit pays from: the marketplace's task id (0x + 64 hex digits). */
export const ChainEscrowRefSchema = z.object({
  taskId: z.string().regex(/^0x[0-9a-fA-F]{64}$/, "a bytes32: 0x and 64 hex digits"),
});
export type ChainEscrowRef = z.infer<typeof ChainEscrowRefSchema>;

const submitTaskFields = z.object({
  modelId: IdSchema,
  /** The input tensors in the clear: required, except for a sealed task (`sealed`), where they are absent or empty. */
  inputs: TensorMapJsonSchema.optional(),
  /**
   * privacy "tee": the inputs sealed by the requester to one attested provider's key (docs/TEE.md).
   * The server stores and relays only this ciphertext; the task runs on that provider alone.
   */
  sealed: SealedInputSchema.optional(),
  verification: VerificationRequestSchema.optional(),
  requirements: RequirementsSchema.optional(),
  /** The most the requester pays per execution, in base units. */
  maxPrice: AmountSchema.optional(),
  deadlineSeconds: z.number().int().min(1).max(86_400).optional(),
  priority: z.number().int().min(0).max(9).optional(),
  /**
   * Pay this task from an on-chain per-task escrow instead of the ledger balance: the marketplace
   * task id (bytes32) the requester created with `createTask` from a wallet linked to its account
   * (docs/CHAIN.md "Paying a task from an on-chain escrow").
   */
  escrow: ChainEscrowRefSchema.optional(),
});
const inputsOrSealed = (b: { inputs?: unknown; sealed?: unknown }, ctx: z.RefinementCtx) => {
  if (b.inputs === undefined && b.sealed === undefined) ctx.addIssue({ code: "custom", path: ["inputs"], message: "inputs are required (or, for privacy tee, a sealed box)" });
};
export const SubmitTaskSchema = submitTaskFields.superRefine(inputsOrSealed);
export type SubmitTask = z.infer<typeof SubmitTaskSchema>;

/** The most, and the default, seconds a call waits for a task to end (`GET /tasks/:id?wait`, `POST /tasks/run`). */
export const MAX_TASK_WAIT_SECONDS = 60;
export const DEFAULT_RUN_WAIT_SECONDS = 30;

/**
 * A submit that waits for the task's end (`POST /tasks/run`): the submit's body and `wait`, the
 * most seconds to wait (default 30). One request where a submit and a long-poll take two.
 */
export const RunTaskSchema = submitTaskFields.extend({ wait: z.number().min(0).max(MAX_TASK_WAIT_SECONDS).optional() }).superRefine(inputsOrSealed);
export type RunTask = z.infer<typeof RunTaskSchema>;

export const TASK_STATUSES = ["queued", "assigned", "running", "verifying", "completed", "failed", "expired"] as const;
export const TaskStatusSchema = z.enum(TASK_STATUSES);
export type TaskStatus = z.infer<typeof TaskStatusSchema>;
export const TERMINAL_STATUSES: readonly TaskStatus[] = ["completed", "failed", "expired"];
export const isTerminalStatus = (s: TaskStatus): boolean => TERMINAL_STATUSES.includes(s);

export const SubmitTaskResponseSchema = z.object({ id: z.string(), status: TaskStatusSchema });

export const ExecutionViewSchema = z.object({
  providerId: z.string(),
  backend: BackendSchema,
  status: z.string(),
  verdict: z.string().nullable(),
  outputDigest: z.string().nullable(),
  runMs: z.number().nullable(),
});

export const VerificationViewSchema = z.object({
  mode: VerificationModeSchema,
  replicas: z.number().int(),
  outcome: z.enum(["pending", "accepted", "rejected", "single"]),
  executions: z.array(ExecutionViewSchema),
});

/** How QA checked a task (docs/QA.md). */
export const ReceiptQaSchema = z.object({
  /** user: a requester's task; canary: a known-answer task; recheck: a re-execution of a solo result. */
  kind: z.enum(["user", "canary", "recheck"]),
  /**
   * replicated: replicas agreed (a new pair, or mode replicated); audit: a trusted pair, checked at
   * random; solo: a trusted pair alone, unchecked; referee: one execution, checked by the server's own
   * reference run (no provider of another operator was registered to check it); single: alone and
   * unchecked, as the requester allowed (verification.allowSingle) or the server is configured
   * (ALLOW_SINGLE, npm start's one-provider mode); unverified:
   * mode none; known-answer: compared with the canary's answer; recheck: compared with the original;
   * proof: a zk proof of output = model(input) verified by the server; attested: one execution
   * in a TEE whose evidence the requester verified (a sealed task: the server cannot see outputs).
   */
  check: z.enum(["replicated", "audit", "solo", "referee", "single", "unverified", "known-answer", "recheck", "proof", "attested"]),
  /** For a solo result: whether it was re-checked after its pair was caught, and what that found. */
  recheck: z.enum(["none", "queued", "confirmed", "corrected"]),
  /** The replicas disagreed and the server's own reference run decided (no provider tie-breaker). */
  refereed: z.boolean().optional(),
  /** The replicas agreed and the server's own reference run re-checked that agreement before delivery (a referee audit, docs/QA.md). */
  refereeAudited: z.boolean().optional(),
});
export type ReceiptQa = z.infer<typeof ReceiptQaSchema>;

export const ReceiptSchema = z.object({
  taskId: z.string(),
  modelSha256: Sha256Schema,
  inputDigest: Sha256Schema,
  outputDigest: Sha256Schema,
  providers: z.array(z.object({ providerId: z.string(), backend: BackendSchema, paid: BalanceSchema })),
  tolerance: z.object({ abs: z.number(), rel: z.number(), argmax: z.boolean() }),
  /** Every execution that was compared, paid or not. */
  executions: z.array(z.object({ providerId: z.string(), backend: BackendSchema, verdict: z.string() })).optional(),
  qa: ReceiptQaSchema.optional(),
  /** A sealed task (privacy "tee"): the evidence the requester sealed to, as the server accepted it (docs/TEE.md). */
  tee: z.object({ providerId: z.string(), evidenceSha256: Sha256Schema, kind: TeeKindSchema, simulated: z.boolean(), measurement: z.string().nullable() }).optional(),
  /**
   * A zk task's proof: anyone can check it with the model's verification key
   * (GET /api/v1/models/:id/zk/verification_key.json) or on chain (ComputeMarketplace.settleWithProof).
   */
  zk: z
    .object({
      circuitHash: Sha256Schema,
      modelHash: FieldDecimalSchema,
      inputHash: FieldDecimalSchema,
      proof: Groth16ProofSchema,
      publicSignals: z.array(FieldDecimalSchema),
    })
    .optional(),
  cost: BalanceSchema,
  split: z.object({ providers: BalanceSchema, treasury: BalanceSchema, creator: BalanceSchema }),
  completedAt: z.string(),
});
export type Receipt = z.infer<typeof ReceiptSchema>;

export const TaskViewSchema = z.object({
  id: z.string(),
  status: TaskStatusSchema,
  modelId: z.string(),
  outputs: TensorMapJsonSchema.optional(),
  /** A sealed task's outputs (privacy "tee"), for the requester's reply key alone (docs/TEE.md). */
  sealed: SealedBoxSchema.optional(),
  verification: VerificationViewSchema,
  cost: BalanceSchema.nullable(),
  receipt: ReceiptSchema.nullable(),
  /** Set when a re-check overturned the result first delivered: `outputs` are now the corrected ones. */
  correction: z.object({ at: z.string(), previousOutputDigest: z.string(), outputDigest: z.string() }).optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  createdAt: z.string(),
  completedAt: z.string().nullable(),
  /** Set once retention (or the requester) deleted the task's inputs and outputs: `outputs` are gone for good. */
  dataPurgedAt: z.string().optional(),
});
export type TaskView = z.infer<typeof TaskViewSchema>;

/** GET /tasks/:id/outputs: a completed task's outputs (410 TASK_DATA_EXPIRED once retention deleted them). */
export const TaskOutputsSchema = z.object({
  id: z.string(),
  /** Empty for a sealed task: its outputs are in `sealed`, for the requester's key alone. */
  outputs: TensorMapJsonSchema,
  sealed: SealedBoxSchema.optional(),
});
export type TaskOutputs = z.infer<typeof TaskOutputsSchema>;

export const GetTaskQuerySchema = z.object({
  wait: z.coerce.number().min(0).max(MAX_TASK_WAIT_SECONDS).optional(),
});

export const ListTasksQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  status: z.string().max(32).optional(),
});

// ---- network ------------------------------------------------------------------------------

/** GET /providers/:id/tee: a provider's current TEE evidence, for a requester to verify before sealing to its key. */
export const ProviderTeeSchema = z.object({
  providerId: z.string(),
  online: z.boolean(),
  attestation: TeeAttestationViewSchema,
  evidence: TeeEvidenceSchema,
});
export type ProviderTee = z.infer<typeof ProviderTeeSchema>;

export const ProviderPublicSchema = z.object({
  id: z.string(),
  name: z.string(),
  kind: ProviderKindSchema,
  backend: BackendSchema,
  region: z.string(),
  /** Flat price per execution; with pricePerUnit an execution costs price + pricePerUnit × the model's units (docs/PRICING.md). */
  price: BalanceSchema,
  pricePerUnit: BalanceSchema.optional(),
  /** Lower confidence bound on the valid rate of its checked results (docs/QA.md). */
  reputation: z.number(),
  slots: z.number().int(),
  load: z.number().int(),
  tasksCompleted: z.number().int(),
  tasksRejected: z.number().int(),
  /** Stake taken for wrong results, base units. */
  slashed: BalanceSchema,
  /** Adaptive replication's record of this provider on its current backend. */
  trust: z.object({ trusted: z.boolean(), streak: z.number().int(), checked: z.number().int(), invalid: z.number().int() }),
  specs: z.record(z.string(), z.unknown()),
  /** What the server made of its TEE evidence (null: it sent none). Fetch the evidence itself from GET /providers/:id/tee to verify it yourself. */
  tee: TeeAttestationViewSchema.nullable(),
});
export type ProviderPublic = z.infer<typeof ProviderPublicSchema>;

/**
 * GET /api/v1/health: the server answers, and how many providers are online right now — registered
 * on this instance, or on any instance of a multi-instance network (REDIS_URL). A client that needs
 * work to run, not just an API that answers, waits for `providers.online` (npm start prints its
 * banner only once its own providers count here).
 */
export const HealthSchema = z.object({
  status: z.literal("ok"),
  providers: z.object({ online: z.number().int().min(0) }),
});
export type Health = z.infer<typeof HealthSchema>;

export const StatsSchema = z.object({
  providersOnline: z.number().int(),
  tasks: z.record(z.string(), z.number().int()),
  volume: BalanceSchema,
  models: z.number().int(),
});
export type Stats = z.infer<typeof StatsSchema>;

export const NetworkActivityQuerySchema = z.object({
  /** The window, in minutes back from now (one bucket per minute). */
  minutes: z.coerce.number().int().min(5).max(180).default(60),
});
const count = z.number().int().nonnegative();
/** Recent activity for the network dashboard: per-minute throughput, latency percentiles, QA outcomes. */
export const NetworkActivitySchema = z.object({
  since: z.string(),
  until: z.string(),
  minutes: z.number().int(),
  /** One bucket per minute, oldest first: requesters' tasks submitted, completed, and failed or expired in that minute. */
  perMinute: z.array(z.object({ at: z.string(), submitted: count, completed: count, failed: count })),
  /** Submit → completion of the requesters' tasks completed in the window, milliseconds (null when none). */
  latencyMs: z.object({ count, p50: z.number().nullable(), p90: z.number().nullable(), p99: z.number().nullable(), max: z.number().nullable() }),
  /** Tasks completed in the window (canaries and re-checks included) by how QA checked them (receipt `qa.check`). */
  checks: z.record(z.string(), count),
  /** Executions that returned a result in the window, by verdict (accepted, rejected, inconclusive, late). */
  verdicts: z.record(z.string(), count),
  /** Requesters' tasks that failed or expired in the window, by error code. */
  failures: z.record(z.string(), count),
});
export type NetworkActivity = z.infer<typeof NetworkActivitySchema>;
