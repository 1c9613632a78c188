/**
 * Stable error codes. Clients match on `code`; `message` is for people. The HTTP status is the
 * one REST answers with (tRPC and socket.io carry the same code).
 */
export const ERROR_STATUS = {
  VALIDATION_FAILED: 400,
  MODEL_INVALID: 400,
  /** The model keeps tensor data in external files (`external_data`): refused before onnxruntime sees it. */
  MODEL_EXTERNAL_DATA: 400,
  TENSOR_INVALID: 400,
  INPUT_UNKNOWN: 400,
  INPUT_MISSING: 400,
  INPUT_DTYPE_MISMATCH: 400,
  INPUT_SHAPE_MISMATCH: 400,
  INPUT_SIZE_MISMATCH: 400,
  REQUIREMENTS_UNSATISFIABLE: 400,
  /** A movement that would take a balance past the largest amount the ledger holds (2^63 − 1). */
  AMOUNT_OUT_OF_RANGE: 400,
  /** Verification mode `zk` on a model the zkML compiler cannot prove (names the operators). */
  MODEL_NOT_PROVABLE: 400,
  /** A model whose inputs, at their smallest declared shapes, exceed the server's run budget (refused at upload without running it). */
  MODEL_TOO_LARGE_INPUT: 400,
  /** A model whose server-side run went over its time, memory or output budget (the worker running it was stopped). */
  MODEL_TOO_COSTLY: 400,
  INVALID_JSON: 400,
  /** A sealed (privacy "tee") input or output that does not open: tampered, sealed to another key or for another model. */
  SEALED_INVALID: 400,
  /** TEE evidence that does not verify (the details name the attestation reason code). */
  ATTESTATION_INVALID: 400,
  /** A JSON body that nests arrays/objects deeper than JSON_MAX_DEPTH (refused before it is parsed). */
  BODY_TOO_DEEP: 400,
  /** A submit's on-chain escrow cannot pay this task: no chain configured, another token, a zk/plain mismatch, another model creator. */
  ESCROW_INVALID: 400,
  /** A submit's on-chain escrow's deadline has passed or is too close for the task to finish and settle. */
  ESCROW_EXPIRED: 400,
  UNAUTHORIZED: 401,
  /** A Sign-In with Ethereum message or signature that does not check out (nonce, domain, chain, time, signer). */
  SIWE_INVALID: 401,
  /** A Sign-In With Solana message or signature that does not check out (format, public key, nonce, domain, chain, time, signer). */
  SIWS_INVALID: 401,
  /** A TonConnect ton_proof that does not check out (address, network, state_init, domain, timestamp, payload, signer). */
  TON_PROOF_INVALID: 401,
  /** The API key was revoked (keys.revoke/rotate, or replaced by a newer wallet sign-in). */
  KEY_REVOKED: 401,
  /** The API key's expiry has passed. */
  KEY_EXPIRED: 401,
  INSUFFICIENT_FUNDS: 402,
  /** A submit's on-chain escrow holds less than the task may cost (maxPrice × executions). */
  ESCROW_TOO_SMALL: 402,
  FORBIDDEN: 403,
  /** A submit's on-chain escrow was created by a wallet not linked to the caller's account. */
  ESCROW_NOT_YOURS: 403,
  /** The API key lacks the scope this call needs (or a new key would have more than it). */
  KEY_SCOPE: 403,
  NOT_FOUND: 404,
  MODEL_NOT_FOUND: 404,
  TASK_NOT_FOUND: 404,
  ASSIGNMENT_NOT_FOUND: 404,
  /** A submit's on-chain escrow does not exist on chain (or not yet in a confirmed block), or is no longer open. */
  ESCROW_NOT_FOUND: 404,
  CONFLICT: 409,
  /** A submit's on-chain escrow already pays another task (each escrow pays one task, once). */
  ESCROW_IN_USE: 409,
  /** A sealed task names evidence the provider no longer holds (it re-attested or left): fetch the providers again and reseal. */
  EVIDENCE_STALE: 409,
  /** An unstake would leave less stake than the account's live executions need. */
  STAKE_LOCKED: 409,
  /** The wallet is already linked to another account. */
  WALLET_IN_USE: 409,
  /** A payout to a chain family whose wallet the account has not linked (sign in with it first). */
  WALLET_NOT_LINKED: 409,
  /** The linked wallet was proven on another network than the one this server pays out on. */
  WALLET_WRONG_NETWORK: 409,
  /** A finished task's inputs and outputs were deleted after the retention period (the task and receipt remain). */
  TASK_DATA_EXPIRED: 410,
  PAYLOAD_TOO_LARGE: 413,
  /** The upload or submit would take the account past its storage quota (the message gives usage and limit). */
  STORAGE_QUOTA: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** An error meant for the caller: a stable code, a human message, optional details. */
export class StunError extends Error {
  readonly code: ErrorCode;
  readonly details?: Record<string, unknown>;
  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = "StunError";
    this.code = code;
    if (details !== undefined) this.details = details;
  }
  get status(): number {
    return ERROR_STATUS[this.code];
  }
  toJSON(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) } };
  }
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: Record<string, unknown> };
}

export const isStunError = (e: unknown): e is StunError => e instanceof StunError;
