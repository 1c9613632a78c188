import { z } from "zod";
import { AttestationError } from "./errors";
import type { VerifiedQuote } from "./verified-quote";

const Hex48 = z.string().regex(/^[0-9a-f]{96}$/, "48 bytes of lower-case hex");

/** TDX TCB statuses from best to worst (Intel's TCB info v3). */
export const TDX_TCB_STATUSES = ["UpToDate", "SWHardeningNeeded", "ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded", "OutOfDate", "OutOfDateConfigurationNeeded", "Revoked"] as const;

/**
 * Which evidence the marketplace (or a requester) accepts: a JSON file (`TEE_POLICY_FILE` on the
 * server; the SDK takes the same object). Absent lists accept any measurement.
 */
export const AttestationPolicySchema = z.object({
  /** The simulated TEE (development only). The server forces false in production. */
  allowSimulated: z.boolean().default(false),
  tdx: z
    .object({
      enabled: z.boolean().default(true),
      /** Accepted MRTDs (the TD's initial memory/firmware). */
      mrtd: z.array(Hex48).optional(),
      /** Accepted RTMR sets (each entry fixes the registers it names). */
      rtmrs: z.array(z.object({ rtmr0: Hex48.optional(), rtmr1: Hex48.optional(), rtmr2: Hex48.optional(), rtmr3: Hex48.optional() })).optional(),
      /** TCB statuses accepted (default: UpToDate and SWHardeningNeeded). */
      acceptedTcbStatuses: z.array(z.enum(TDX_TCB_STATUSES)).default(["UpToDate", "SWHardeningNeeded"]),
      allowDebug: z.boolean().default(false),
    })
    .prefault({}),
  sevSnp: z
    .object({
      enabled: z.boolean().default(true),
      /** Accepted launch measurements. */
      measurements: z.array(Hex48).optional(),
      /** The lowest reported TCB accepted, per component. */
      minTcb: z.object({ bootloader: z.number().int().min(0), tee: z.number().int().min(0), snp: z.number().int().min(0), microcode: z.number().int().min(0) }).optional(),
      allowDebug: z.boolean().default(false),
    })
    .prefault({}),
});
export type AttestationPolicy = z.infer<typeof AttestationPolicySchema>;
export type AttestationPolicyInput = z.input<typeof AttestationPolicySchema>;

export const parsePolicy = (input: unknown): AttestationPolicy => AttestationPolicySchema.parse(input ?? {});

/** Applies `policy` to a verified quote; throws AttestationError with the first rule it breaks. */
export function applyPolicy(quote: VerifiedQuote, policy: AttestationPolicy): void {
  if (quote.kind === "simulated") {
    if (!policy.allowSimulated) throw new AttestationError("SIMULATED_NOT_ALLOWED", "simulated TEE evidence is accepted only in development (policy allowSimulated)");
    return;
  }
  if (quote.kind === "tdx") {
    const p = policy.tdx;
    if (!p.enabled) throw new AttestationError("KIND_NOT_ACCEPTED", "the policy does not accept Intel TDX");
    if (quote.debug && !p.allowDebug) throw new AttestationError("DEBUG_GUEST", "the TD runs with debugging on: the host can read its memory");
    if (!(p.acceptedTcbStatuses as string[]).includes(quote.tcbStatus))
      throw new AttestationError("TCB_NOT_ACCEPTED", `TCB status ${quote.tcbStatus} is not one the policy accepts (${p.acceptedTcbStatuses.join(", ")})`);
    if (p.mrtd && !p.mrtd.includes(quote.measurement)) throw new AttestationError("MEASUREMENT_NOT_ALLOWED", `MRTD ${quote.measurement} is not in the policy`);
    if (p.rtmrs) {
      const r = quote.rtmrs;
      const ok = r !== undefined && p.rtmrs.some((set) => (["rtmr0", "rtmr1", "rtmr2", "rtmr3"] as const).every((name, i) => set[name] === undefined || set[name] === r[i]));
      if (!ok) throw new AttestationError("MEASUREMENT_NOT_ALLOWED", "the RTMRs match no set in the policy");
    }
    return;
  }
  if (quote.kind !== "sev-snp") throw new AttestationError("KIND_NOT_ACCEPTED", `unknown kind of TEE evidence: ${String(quote.kind)}`);
  const p = policy.sevSnp;
  if (!p.enabled) throw new AttestationError("KIND_NOT_ACCEPTED", "the policy does not accept AMD SEV-SNP");
  if (quote.debug && !p.allowDebug) throw new AttestationError("DEBUG_GUEST", "the guest policy allows debugging: the host can read its memory");
  if (p.minTcb) {
    const t = quote.snpTcb;
    const low = t === undefined ? ["all"] : (["bootloader", "tee", "snp", "microcode"] as const).filter((c) => t[c] < p.minTcb![c]);
    if (low.length > 0) throw new AttestationError("TCB_NOT_ACCEPTED", `reported TCB below the policy's minimum (${low.join(", ")})`);
  }
  if (p.measurements && !p.measurements.includes(quote.measurement)) throw new AttestationError("MEASUREMENT_NOT_ALLOWED", `measurement ${quote.measurement} is not in the policy`);
}
