/**
 * WebGPU detection for the Contribute tab: is there `navigator.gpu`, does it give an adapter, and
 * is that adapter a real GPU or a software fallback (SwiftShader runs WebGPU on the CPU, 100–1000×
 * slower than WASM)? `chooseBackend` turns the answer and the user's choice into the backend to run
 * and a sentence saying why.
 */
import type { WebBackend } from "./messages";

/** What the tab keeps of the adapter (plain data: it crosses postMessage to the worker). */
export type GpuInfo = Pick<GPUAdapterInfo, "vendor" | "architecture" | "device" | "description" | "isFallbackAdapter">;

export type GpuProbe = { available: true; info: GpuInfo } | { available: false; reason: "no-navigator-gpu" | "no-adapter" | "error"; message: string };

/**
 * A GPUAdapter as browsers have shipped it: before `GPUAdapter.info` (Chromium < 127) the
 * information came from `requestAdapterInfo()` and `isFallbackAdapter` sat on the adapter itself.
 */
type AdapterAcrossVersions = Omit<GPUAdapter, "info"> & {
  info?: Partial<GpuInfo>;
  isFallbackAdapter?: boolean;
  requestAdapterInfo?: () => Promise<Partial<GpuInfo>>;
};

export async function probeWebGpu(nav: { gpu?: unknown } = globalThis.navigator as { gpu?: unknown }): Promise<GpuProbe> {
  const gpu = nav?.gpu as GPU | undefined;
  if (!gpu || typeof gpu.requestAdapter !== "function") {
    return { available: false, reason: "no-navigator-gpu", message: "this browser has no navigator.gpu (WebGPU is off or unsupported)" };
  }
  try {
    const adapter = (await gpu.requestAdapter({ powerPreference: "high-performance" })) as AdapterAcrossVersions | null;
    if (!adapter) return { available: false, reason: "no-adapter", message: "navigator.gpu found no WebGPU adapter" };
    const raw: Partial<GpuInfo> = adapter.info ?? (adapter.requestAdapterInfo ? await adapter.requestAdapterInfo() : {});
    const info: GpuInfo = {
      vendor: raw.vendor ?? "",
      architecture: raw.architecture ?? "",
      device: raw.device ?? "",
      description: raw.description ?? "",
      isFallbackAdapter: Boolean(raw.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false),
    };
    return { available: true, info };
  } catch (e) {
    return { available: false, reason: "error", message: `requestAdapter failed: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/** "SwiftShader (fallback)", "nvidia ampere", … */
export function adapterLabel(info: GpuInfo): string {
  const arch = info.architecture.toLowerCase();
  const base = arch === "swiftshader" ? "SwiftShader" : [info.vendor, info.architecture].filter(Boolean).join(" ") || info.description || "unknown adapter";
  return info.isFallbackAdapter ? `${base} (fallback)` : base;
}

export type BackendChoice = "auto" | WebBackend;

export type BackendDecision = { ok: true; backend: WebBackend; reason: string } | { ok: false; reason: string };

export function chooseBackend(choice: BackendChoice, probe: GpuProbe, threads: number): BackendDecision {
  const wasm = `WASM with ${threads} thread${threads === 1 ? "" : "s"}`;
  if (choice === "wasm") {
    return { ok: true, backend: "wasm", reason: `${wasm}, as chosen in settings` };
  }
  if (choice === "webgpu") {
    if (!probe.available) return { ok: false, reason: `WebGPU chosen, but ${probe.message}` };
    return { ok: true, backend: "webgpu", reason: `WebGPU adapter: ${adapterLabel(probe.info)}` };
  }
  if (!probe.available) {
    const why = probe.reason === "no-navigator-gpu" ? "no navigator.gpu" : probe.reason === "no-adapter" ? "no WebGPU adapter" : probe.message;
    return { ok: true, backend: "wasm", reason: `${why}: using ${wasm}` };
  }
  if (probe.info.isFallbackAdapter) {
    return { ok: true, backend: "wasm", reason: `WebGPU adapter: ${adapterLabel(probe.info)}, slower than WASM: using ${wasm}` };
  }
  return { ok: true, backend: "webgpu", reason: `WebGPU adapter: ${adapterLabel(probe.info)}` };
}
