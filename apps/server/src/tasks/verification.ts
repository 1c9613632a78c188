import { z } from "zod";
import { VerificationModeSchema } from "@stun/shared";

/** Tie-breaker executions a redundant task may add when its replicas disagree. */
export const MAX_TIE_BREAKERS = 1;

/**
 * How a task is checked, as stored in `Task.verification` (jsonb). Parsed, never cast: a row
 * written by an older server or by hand fails here, not deep inside the scheduler. Unknown keys
 * are kept (loose), since writers spread the parsed value back into the row.
 */
export const StoredVerificationSchema = z.looseObject({
  mode: VerificationModeSchema,
  replicas: z.number().int().positive(),
  argmax: z.boolean(),
  /** `auto` decided to run this task on one provider (`plan` says why). */
  single: z.boolean().optional(),
  /**
   * How `auto` checks it (qa/policy.ts, scheduler/plan.ts): replicate | audit | solo, referee
   * (the server's reference run checks the one execution), or single (alone, unchecked: allowed by
   * `allowSingle` or ALLOW_SINGLE, and no checker registered).
   */
  plan: z.enum(["replicate", "audit", "solo", "referee", "single"]).optional(),
  /** The requester allows `single` when no checker is registered (VerificationRequest.allowSingle). */
  allowSingle: z.boolean().optional(),
  /** Providers that must not run this task (e.g. a canary's: those that ran the task its input came from). */
  avoid: z.array(z.string()).optional(),
  /** Replicas must run on this backend (the model's calibration asks for same-backend quorums). */
  backend: z.string().optional(),
  /** Paid from an on-chain escrow (ChainEscrow; tasks/chain-escrow.ts), not the requester's balance. */
  chainEscrow: z.boolean().optional(),
  /** Mode zk: the proving fee each execution's price includes (base units), from the circuit's size. */
  zk: z.object({ fee: z.string(), constraints: z.number() }).optional(),
  /** A re-check: the solo execution it checks again (that result counts as the first replica). */
  recheck: z.object({ taskId: z.string(), assignmentId: z.string(), providerId: z.string() }).optional(),
  /**
   * A sealed task (privacy "tee", docs/TEE.md): it runs once, on this provider only, while it holds
   * this key; its input and output blobs are ciphertext the server cannot check.
   */
  tee: z
    .object({
      providerId: z.string(),
      publicKey: z.string(),
      evidenceSha256: z.string(),
      kind: z.enum(["tdx", "sev-snp", "simulated"]),
      simulated: z.boolean(),
      measurement: z.string().nullable(),
    })
    .optional(),
});

export type StoredVerification = z.infer<typeof StoredVerificationSchema>;
export type ExecutionPlan = NonNullable<StoredVerification["plan"]>;

/** A task row's `verification` column, checked. */
export const parseVerification = (json: unknown): StoredVerification => StoredVerificationSchema.parse(json);
