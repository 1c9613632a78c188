import { existsSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CudaUnavailableError, ortNativeDir, probeCuda, quietOrtLogs, selectBackend } from "../src/backend";
import { runBenchmark } from "../src/benchmark";

quietOrtLogs(); // keep onnxruntime's native error line about the CUDA library out of the test output
const cudaInstalled = existsSync(path.join(ortNativeDir(), "libonnxruntime_providers_cuda.so"));

describe("backend selection", () => {
  it("cpu is always available", async () => {
    expect(await selectBackend("cpu")).toEqual({ backend: "cpu", executionProviders: ["cpu"] });
  });

  it.skipIf(cudaInstalled)("asking for CUDA here gives the clear not-available error", async () => {
    const err = await selectBackend("cuda").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CudaUnavailableError);
    expect((err as Error).message).toMatch(/^CUDA not available on this machine: /);
    expect((err as Error).message).toMatch(/libonnxruntime_providers_cuda\.so is not installed/);
    expect((err as CudaUnavailableError).code).toBe("CUDA_UNAVAILABLE");
  });

  it.skipIf(cudaInstalled)("auto falls back to CPU and says why", async () => {
    const sel = await selectBackend("auto");
    expect(sel.backend).toBe("cpu");
    expect(sel.fallbackReason).toMatch(/^CUDA not available on this machine/);
  });

  it("takes CUDA when the probe succeeds (CPU kept as fallback EP)", async () => {
    expect(await selectBackend("cuda", { probeCuda: async () => ({ ok: true }) })).toEqual({ backend: "cuda", executionProviders: ["cuda", "cpu"] });
    expect((await selectBackend("auto", { probeCuda: async () => ({ ok: true }) })).backend).toBe("cuda");
  });

  it.skipIf(!cudaInstalled)("the CUDA probe succeeds where the CUDA provider is installed", async () => {
    expect(await probeCuda()).toEqual({ ok: true });
  });
});

describe("benchmark", () => {
  it("measures inferences per second of the built-in MLP", async () => {
    const r = await runBenchmark({ durationMs: 100, warmup: 5 });
    expect(r.runs).toBeGreaterThanOrEqual(10);
    expect(r.ips).toBeGreaterThan(0);
    expect(r.msPerInference).toBeGreaterThan(0);
  });
});
