/**
 * Which confidential-computing guest this machine is (docs/TEE.md): Linux exposes attestation
 * through configfs-tsm (`/sys/kernel/config/tsm/report`, kernel 6.7+), where a report entry's
 * `provider` names the guest driver (tdx_guest, sev_guest); older kernels only have the ioctl
 * devices `/dev/tdx_guest` and `/dev/sev-guest`, which Node cannot drive without a native addon.
 */
import { existsSync } from "node:fs";

export type HardwareTeeKind = "tdx" | "sev-snp";

export const TSM_REPORT_DIR = "/sys/kernel/config/tsm/report";

export type TeeDetection = { available: true; kind: HardwareTeeKind; via: "configfs-tsm" } | { available: false; reason: string; kind?: HardwareTeeKind };

export interface DetectPaths {
  tsmReportDir: string;
  tdxDevice: string;
  sevDevice: string;
}
export const DEFAULT_PATHS: DetectPaths = { tsmReportDir: TSM_REPORT_DIR, tdxDevice: "/dev/tdx_guest", sevDevice: "/dev/sev-guest" };

/**
 * Detects the guest. `probeProvider` asks configfs-tsm which driver serves reports (it needs an
 * entry to be made: configfs-tsm.ts); injected so tests can stand in for the kernel.
 */
export async function detectTee(want: HardwareTeeKind | "auto", probeProvider: (dir: string) => Promise<string | undefined>, paths: DetectPaths = DEFAULT_PATHS): Promise<TeeDetection> {
  const device: HardwareTeeKind | undefined = existsSync(paths.tdxDevice) ? "tdx" : existsSync(paths.sevDevice) ? "sev-snp" : undefined;
  if (existsSync(paths.tsmReportDir)) {
    const provider = await probeProvider(paths.tsmReportDir).catch(() => undefined);
    const kind: HardwareTeeKind | undefined = provider === "tdx_guest" ? "tdx" : provider === "sev_guest" ? "sev-snp" : undefined;
    if (kind && (want === "auto" || want === kind)) return { available: true, kind, via: "configfs-tsm" };
    if (kind) return { available: false, kind, reason: `this is a ${kind} guest, not ${want}` };
    return { available: false, reason: `configfs-tsm is mounted but no TEE guest driver serves reports (provider: ${provider ?? "none"})` };
  }
  if (device) {
    return {
      available: false,
      kind: device,
      reason: `${device === "tdx" ? paths.tdxDevice : paths.sevDevice} exists but configfs-tsm (${paths.tsmReportDir}) does not: run a kernel ≥ 6.7 with CONFIG_TSM_REPORTS and mount configfs (mount -t configfs none /sys/kernel/config)`,
    };
  }
  return { available: false, reason: "not a confidential VM: no TDX or SEV-SNP guest interface (configfs-tsm, /dev/tdx_guest, /dev/sev-guest); use --tee simulated for development" };
}
