/**
 * Choosing the onnxruntime execution provider. `cpu` always works; `cuda` is proved by creating a
 * session on a tiny model with the CUDA execution provider and running it once; `auto` takes CUDA
 * when that works and CPU otherwise.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import ort from "onnxruntime-node";
import { buildProbeModel } from "./builtin-model";
import { ProviderError, errorMessage } from "@stun/provider-core";

export type BackendChoice = "cpu" | "cuda" | "auto";
export type NativeBackend = "cpu" | "cuda";

export interface SelectedBackend {
  backend: NativeBackend;
  executionProviders: string[];
  /** Why `auto` fell back to CPU, when it did. */
  fallbackReason?: string;
}

export class CudaUnavailableError extends ProviderError {
  readonly reason: string;
  constructor(reason: string) {
    super("CUDA_UNAVAILABLE", `CUDA not available on this machine: ${reason}`);
    this.name = "CudaUnavailableError";
    this.reason = reason;
  }
}

/**
 * onnxruntime-node prints native errors (e.g. the failed CUDA library load) straight to stderr,
 * which would break the agent's JSON-lines log. Its log level is read once, when the first session
 * is created, so call this before that.
 */
export function quietOrtLogs(level: "warning" | "error" | "fatal" = "fatal"): void {
  ort.env.logLevel = level;
}

/** Where onnxruntime-node keeps its native libraries on this platform. */
export function ortNativeDir(): string {
  const require = createRequire(import.meta.url);
  const pkgDir = path.dirname(require.resolve("onnxruntime-node/package.json"));
  return path.join(pkgDir, "bin", "napi-v6", process.platform, process.arch);
}

/** A hint about why CUDA cannot load, from what is (not) on disk. */
function cudaInstallHint(): string | undefined {
  if (!["linux", "win32"].includes(process.platform) || process.arch !== "x64") {
    return `onnxruntime-node ships the CUDA execution provider for linux/x64 and win32/x64 only (this is ${process.platform}/${process.arch})`;
  }
  const lib = process.platform === "win32" ? "onnxruntime_providers_cuda.dll" : "libonnxruntime_providers_cuda.so";
  const dir = ortNativeDir();
  if (!existsSync(path.join(dir, lib))) {
    return `${lib} is not installed in ${dir} (onnxruntime-node was installed with its CUDA download skipped; see apps/provider-native/README.md, "Enabling CUDA")`;
  }
  return undefined;
}

export type CudaProbe = () => Promise<{ ok: true } | { ok: false; reason: string }>;

/** Creates and runs a one-node session on the CUDA execution provider. */
export const probeCuda: CudaProbe = async () => {
  const model = buildProbeModel();
  let session: ort.InferenceSession | undefined;
  try {
    session = await ort.InferenceSession.create(model.bytes, { executionProviders: ["cuda"] });
    await session.run({ [model.inputName]: new ort.Tensor("float32", Float32Array.of(-1), [1]) });
    return { ok: true };
  } catch (e) {
    const hint = cudaInstallHint();
    return { ok: false, reason: hint ? `${errorMessage(e)}; ${hint}` : errorMessage(e) };
  } finally {
    await session?.release().catch(() => undefined);
  }
};

export async function selectBackend(choice: BackendChoice, opts: { probeCuda?: CudaProbe } = {}): Promise<SelectedBackend> {
  if (choice === "cpu") return { backend: "cpu", executionProviders: ["cpu"] };
  const probe = await (opts.probeCuda ?? probeCuda)();
  if (probe.ok) return { backend: "cuda", executionProviders: ["cuda", "cpu"] };
  if (choice === "cuda") throw new CudaUnavailableError(probe.reason);
  return { backend: "cpu", executionProviders: ["cpu"], fallbackReason: `CUDA not available on this machine: ${probe.reason}` };
}
