import { createHash } from "node:crypto";

/** How long fetched TDX collateral is reused (Intel reissues TCB info about monthly; CRLs daily). */
const TTL_MS = 60 * 60 * 1000;
const MAX_ENTRIES = 256;

/**
 * TDX collateral from a PCCS (TEE_PCCS_URL), cached per quote's platform for an hour: for evidence
 * that does not carry its own. The collateral is Intel-signed, so where it comes from is not trusted;
 * the verifier checks it to Intel's root.
 */
export function pccsCollateral(pccsUrl: string): (quote: Uint8Array) => Promise<unknown> {
  const cache = new Map<string, { at: number; value: Promise<unknown> }>();
  return async (quote) => {
    const key = createHash("sha256")
      .update(quote.subarray(0, 48 + 584))
      .digest("hex");
    const hit = cache.get(key);
    if (hit && Date.now() - hit.at < TTL_MS) return hit.value;
    const { getCollateral } = await import("@phala/dcap-qvl");
    const value = getCollateral(pccsUrl, quote);
    value.catch(() => cache.delete(key));
    if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value!);
    cache.set(key, { at: Date.now(), value });
    return value;
  };
}
