import type { StoredVerification } from "./verification";

/** What a result judged alone settles with (qa/settle-alone.ts), as its dispatch knew the task and the provider. */
export interface AloneSettlement {
  requesterId: string;
  /** What the task held in escrow when it was dispatched (Task.escrowHeld): the settlement refunds what the price leaves of it. */
  held: bigint;
  /** The execution's price. */
  price: bigint;
  /** The provider's account and backend. */
  accountId: string;
  backend: string;
  inputSha256: string;
  verification: StoredVerification;
}
