/** What this machine offers: CPU model, cores, memory, and NVIDIA GPUs (via nvidia-smi when present). */
import { execFile } from "node:child_process";
import os from "node:os";

export interface GpuInfo {
  name: string;
  vramMb: number;
  computeCapability?: number;
  driver?: string;
}

export interface Hardware {
  cpuModel?: string;
  cores: number;
  memoryMb: number;
  gpus: GpuInfo[];
}

export const NVIDIA_SMI_ARGS = ["--query-gpu=name,memory.total,compute_cap,driver_version", "--format=csv,noheader,nounits"];

const notAvailable = (s: string) => s === "" || /^\[?(n\/a|not supported|unknown error|insufficient permissions)\]?$/i.test(s);

/**
 * Parses `nvidia-smi --query-gpu=name,memory.total,compute_cap,driver_version --format=csv,noheader,nounits`.
 * Fields are split from the right, so a GPU name with a comma survives; "[N/A]"-style values are
 * left out; lines that do not parse (warnings, blank lines) are skipped.
 */
export function parseNvidiaSmiCsv(text: string): GpuInfo[] {
  const gpus: GpuInfo[] = [];
  for (const line of text.split(/\r?\n/)) {
    const fields = line.split(",");
    if (fields.length < 4) continue;
    const driver = fields.pop()!.trim();
    const cap = fields.pop()!.trim();
    const mem = fields.pop()!.trim();
    const name = fields.join(",").trim();
    const memMatch = /^(\d+(?:\.\d+)?)(?:\s*MiB)?$/i.exec(mem);
    if (!name || !memMatch) continue;
    const gpu: GpuInfo = { name, vramMb: Math.round(Number(memMatch[1])) };
    if (!notAvailable(cap) && /^\d+(\.\d+)?$/.test(cap)) gpu.computeCapability = Number(cap);
    if (!notAvailable(driver)) gpu.driver = driver;
    gpus.push(gpu);
  }
  return gpus;
}

/** Runs nvidia-smi; resolves null when it is absent or fails (no driver, no GPU, timeout). */
export function runNvidiaSmi(timeoutMs = 5000): Promise<string | null> {
  return new Promise((resolve) => {
    execFile("nvidia-smi", NVIDIA_SMI_ARGS, { timeout: timeoutMs, windowsHide: true }, (err, stdout) => resolve(err ? null : stdout));
  });
}

export async function detectHardware(opts: { nvidiaSmi?: () => Promise<string | null> } = {}): Promise<Hardware> {
  const cpus = os.cpus();
  const cpuModel = cpus[0]?.model.trim();
  const smi = await (opts.nvidiaSmi ?? runNvidiaSmi)();
  return {
    ...(cpuModel ? { cpuModel } : {}),
    cores: Math.max(1, typeof os.availableParallelism === "function" ? os.availableParallelism() : cpus.length),
    memoryMb: Math.floor(os.totalmem() / (1024 * 1024)),
    gpus: smi ? parseNvidiaSmiCsv(smi) : [],
  };
}
