import type { TeeKind } from "@stun/shared";

/**
 * What a hardware verifier (tdx.ts, sev-snp.ts, simulated.ts) establishes from one quote/report:
 * its signature chain checked to the vendor's root, nothing about policy yet (policy.ts).
 */
export interface VerifiedQuote {
  kind: TeeKind;
  /** The launch measurement, lower-case hex (TDX MRTD: 48 bytes; SNP MEASUREMENT: 48 bytes). */
  measurement: string;
  /** The 64 bytes of report data the guest put in the quote. */
  reportData: Uint8Array;
  /** The guest runs with debugging on (TDX TD_ATTRIBUTES.DEBUG, SNP POLICY.DEBUG). */
  debug: boolean;
  /**
   * TDX: Intel's TCB status ("UpToDate", "SWHardeningNeeded", "ConfigurationNeeded",
   * "ConfigurationAndSWHardeningNeeded", "OutOfDate", "OutOfDateConfigurationNeeded", "Revoked").
   * SEV-SNP: AMD gives no status; the verifier writes the reported components
   * ("bl:2 tee:0 snp:5 ucode:68", for people) and policy.ts compares `snpTcb` with its minimum.
   * Simulated: "Simulated".
   */
  tcbStatus: string;
  /** Intel security advisories that apply (TDX). */
  advisoryIds?: string[];
  /** TDX: the runtime measurement registers, hex. */
  rtmrs?: [string, string, string, string];
  /** SEV-SNP: the reported TCB (REPORTED_TCB) components. */
  snpTcb?: { bootloader: number; tee: number; snp: number; microcode: number };
}
