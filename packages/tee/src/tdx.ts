import { AttestationError } from "./errors";
import type { VerifiedQuote } from "./verified-quote";

/**
 * Verifies an Intel TDX quote (DCAP v4/v5) against Intel-signed collateral with @phala/dcap-qvl:
 * the quote's signature, the PCK chain to Intel's root, the QE identity and the TCB info; reports
 * the TCB status. Policy is applied by the caller.
 */
export async function verifyTdxQuote(_quote: Uint8Array, _collateral: unknown, _nowSecs: number): Promise<VerifiedQuote> {
  throw new AttestationError("KIND_NOT_ACCEPTED", "TDX verification is not built yet");
}
