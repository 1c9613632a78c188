import { createHash } from "node:crypto";
import ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { buildBenchmarkMlp as nativeBenchmarkMlp } from "@stun/provider-native";
import { buildFileReadingModel, buildMlp } from "@stun/testkit";
import { buildBenchmarkMlp } from "../src/provider/benchmark-model";
import { chooseBackend, type GpuProbe, probeWebGpu } from "../src/provider/gpu";
import { openModelStore } from "../src/provider/model-store";
import { WebRunner } from "../src/provider/runner";
import { ortToWire, sha256Hex, sha256Js, wireToOrt } from "@stun/provider-core";
import type { OrtModule } from "../src/provider/ort-loader";

// onnxruntime-node and onnxruntime-web share onnxruntime-common's API (Tensor, InferenceSession),
// so the browser provider's pure parts run here on the node build.
const ortAsWeb = ort as unknown as OrtModule;
const hex = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe("browser provider: pure parts", () => {
  it("encodes the benchmark MLP as ONNX that onnxruntime loads, computing what the native agent's does", async () => {
    const web = buildBenchmarkMlp();
    const native = nativeBenchmarkMlp();
    const x = Float32Array.from({ length: 784 }, (_, i) => Math.sin(i));
    const run = async (bytes: Uint8Array) => {
      const s = await ort.InferenceSession.create(bytes);
      try {
        expect(s.inputNames).toEqual(["x"]);
        expect(s.outputNames).toEqual(["y"]);
        return (await s.run({ x: new ort.Tensor("float32", x, [1, 784]) })).y!;
      } finally {
        await s.release();
      }
    };
    const [a, b] = [await run(web.bytes), await run(native.bytes)];
    expect(a.dims).toEqual([1, 10]);
    expect(Array.from(a.data as Float32Array)).toEqual(Array.from(b.data as Float32Array));
  });

  it("hashes with SHA-256 in pure JS (for insecure contexts) exactly like WebCrypto and node", async () => {
    for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 1000, 100_003]) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 31 + n) & 255);
      const want = hex(bytes);
      expect(Buffer.from(sha256Js(bytes)).toString("hex")).toBe(want);
      expect(await sha256Hex(bytes)).toBe(want);
    }
  });

  it("turns wire tensors into ort tensors and back without losing bytes; malformed ones are INPUT_INVALID", () => {
    const x = Float32Array.from([1.5, -2, 3.25, 4]);
    // An unaligned view (offset 1), as a socket.io attachment inside a bigger buffer might be.
    const backing = new Uint8Array(17);
    backing.set(new Uint8Array(x.buffer), 1);
    const t = wireToOrt(ortAsWeb, "x", { dtype: "float32", dims: [2, 2], data: backing.subarray(1) });
    expect(Array.from(t.data as Float32Array)).toEqual(Array.from(x));
    const back = ortToWire("x", t);
    expect(back.dtype).toBe("float32");
    expect(back.dims).toEqual([2, 2]);
    expect(Buffer.from(back.data as Uint8Array).equals(Buffer.from(x.buffer))).toBe(true);
    // ArrayBuffer (how browsers receive binary attachments), int64 and strings.
    const big = BigInt64Array.from([1n, -2n, 2n ** 40n]);
    const ti = wireToOrt(ortAsWeb, "i", { dtype: "int64", dims: [3], data: big.buffer as never });
    expect(Array.from(ti.data as BigInt64Array)).toEqual([1n, -2n, 2n ** 40n]);
    expect(ortToWire("s", wireToOrt(ortAsWeb, "s", { dtype: "string", dims: [2], data: ["a", "b"] })).data).toEqual(["a", "b"]);

    const bad = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as { code?: string }).code;
      }
      return "no error";
    };
    expect(bad(() => wireToOrt(ortAsWeb, "x", { dtype: "float32", dims: [2, 2], data: new Uint8Array(15) }))).toBe("INPUT_INVALID");
    expect(bad(() => wireToOrt(ortAsWeb, "b", { dtype: "bool", dims: [2], data: Uint8Array.from([0, 2]) }))).toBe("INPUT_INVALID");
    expect(bad(() => wireToOrt(ortAsWeb, "x", { dtype: "float32", dims: [-1], data: new Uint8Array(0) }))).toBe("INPUT_INVALID");
    expect(bad(() => wireToOrt(ortAsWeb, "x", { dtype: "complex64" as never, dims: [1], data: new Uint8Array(8) }))).toBe("INPUT_INVALID");
  });

  it("picks the backend and says why", async () => {
    const none: GpuProbe = { available: false, reason: "no-navigator-gpu", message: "no navigator.gpu" };
    const swiftshader: GpuProbe = { available: true, info: { vendor: "google", architecture: "swiftshader", device: "", description: "", isFallbackAdapter: true } };
    const real: GpuProbe = { available: true, info: { vendor: "nvidia", architecture: "ampere", device: "", description: "", isFallbackAdapter: false } };
    expect(chooseBackend("auto", none, 4)).toEqual({ ok: true, backend: "wasm", reason: "no navigator.gpu: using WASM with 4 threads" });
    expect(chooseBackend("auto", swiftshader, 1)).toMatchObject({ ok: true, backend: "wasm", reason: "WebGPU adapter: SwiftShader (fallback), slower than WASM: using WASM with 1 thread" });
    expect(chooseBackend("auto", real, 2)).toEqual({ ok: true, backend: "webgpu", reason: "WebGPU adapter: nvidia ampere" });
    expect(chooseBackend("webgpu", swiftshader, 1)).toEqual({ ok: true, backend: "webgpu", reason: "WebGPU adapter: SwiftShader (fallback)" });
    expect(chooseBackend("webgpu", none, 1)).toEqual({ ok: false, reason: "WebGPU chosen, but no navigator.gpu" });
    expect(chooseBackend("wasm", real, 2)).toMatchObject({ ok: true, backend: "wasm" });
    expect(await probeWebGpu({})).toMatchObject({ available: false, reason: "no-navigator-gpu" });
    expect(await probeWebGpu({ gpu: { requestAdapter: async () => null } })).toMatchObject({ available: false, reason: "no-adapter" });
    const legacy = await probeWebGpu({ gpu: { requestAdapter: async () => ({ isFallbackAdapter: true, info: { vendor: "google", architecture: "swiftshader" } }) } });
    expect(legacy).toMatchObject({ available: true, info: { isFallbackAdapter: true, architecture: "swiftshader" } });
  });

  it("runner: downloads a model once, checks its sha256, serves it from the store after a restart, refuses foreign origins", async () => {
    const mlp = buildMlp({ inputSize: 4, hidden: [8], outputSize: 3, seed: 9, batch: 1 });
    const sha256 = hex(mlp.bytes);
    const requests: Array<{ url: string; auth: string | null }> = [];
    let serve: Uint8Array = mlp.bytes;
    const fakeFetch = (async (url: string, init?: RequestInit) => {
      requests.push({ url, auth: new Headers(init?.headers).get("authorization") });
      return new Response(serve as Uint8Array<ArrayBuffer>, { status: 200 });
    }) as typeof fetch;
    const store = await openModelStore({ maxBytes: 1 << 20 }); // node has no IndexedDB: the memory store
    expect(store.kind).toBe("memory");
    const mk = () => new WebRunner({ ort: ortAsWeb, store, server: "http://127.0.0.1:4000", apiKey: "stun_k", sessionOptions: { executionProviders: ["cpu"] }, fetch: fakeFetch });
    const x = Float32Array.from([0.5, -1, 2, 0.25]);
    const inputs = { x: { dtype: "float32" as const, dims: [1, 4], data: new Uint8Array(x.buffer) } };
    const model = { sha256, url: "/api/v1/models/mdl_1/file", sizeBytes: mlp.bytes.byteLength };

    const r1 = mk();
    const [a, b] = await Promise.all([r1.run({ model, inputs }), r1.run({ model, inputs })]);
    expect(requests).toEqual([{ url: "http://127.0.0.1:4000/api/v1/models/mdl_1/file", auth: "Bearer stun_k" }]); // one download for both
    expect(a.source).toBe("download");
    const y = new Float32Array(new Uint8Array(a.outputs.y!.data as Uint8Array).slice().buffer);
    Array.from(mlp.forward(x, 1)).forEach((v, i) => expect(Math.abs(y[i]! - v)).toBeLessThan(1e-5));
    expect(b.outputs.y!.dims).toEqual([1, 3]);
    expect((await r1.run({ model, inputs })).source).toBe("memory");
    await r1.close();

    const r2 = mk(); // a reload: new runner, same store
    expect((await r2.run({ model, inputs })).source).toBe("cache");
    expect(requests).toHaveLength(1);
    await r2.close();

    // A corrupt store entry is dropped and downloaded again; wrong bytes from the server are refused.
    await store.put(sha256, new Uint8Array([1, 2, 3]));
    serve = new Uint8Array([9, 9, 9]);
    const r3 = mk();
    await expect(r3.run({ model: { ...model, sizeBytes: 0 }, inputs })).rejects.toMatchObject({ code: "MODEL_HASH_MISMATCH" });
    serve = new Uint8Array(mlp.bytes.byteLength + 10);
    await expect(r3.run({ model, inputs })).rejects.toMatchObject({ code: "MODEL_HASH_MISMATCH" }); // longer than sizeBytes
    await expect(r3.run({ model: { ...model, url: "https://elsewhere.example/m" }, inputs })).rejects.toMatchObject({ code: "MODEL_FETCH_FAILED" });
    serve = mlp.bytes;
    await expect(r3.run({ model, inputs: { nope: inputs.x } })).rejects.toMatchObject({ code: "INPUT_INVALID" });
    await r3.close();
  });

  it("runner: refuses a model that reads a file through external data (MODEL_EXTERNAL_DATA) before onnxruntime loads it", async () => {
    // On onnxruntime-node (the same API as onnxruntime-web) this model would read package.json from the cwd.
    const attack = buildFileReadingModel("package.json", 16);
    const model = { sha256: hex(attack.bytes), url: "/api/v1/models/mdl_x/file", sizeBytes: attack.bytes.byteLength };
    const sessionsCreated: unknown[] = [];
    const countingOrt = {
      ...ortAsWeb,
      InferenceSession: { create: (...args: unknown[]) => (sessionsCreated.push(args), (ortAsWeb.InferenceSession.create as (...a: unknown[]) => unknown)(...args)) },
    } as unknown as OrtModule;
    const runner = new WebRunner({
      ort: countingOrt,
      store: await openModelStore({ maxBytes: 1 << 20 }),
      server: "http://127.0.0.1:4000",
      apiKey: "stun_k",
      sessionOptions: { executionProviders: ["cpu"] },
      fetch: (async () => new Response(attack.bytes as Uint8Array<ArrayBuffer>, { status: 200 })) as typeof fetch,
    });
    const inputs = { x: { dtype: "float32" as const, dims: [1], data: new Uint8Array(4) } };
    await expect(runner.run({ model, inputs })).rejects.toMatchObject({ code: "MODEL_EXTERNAL_DATA", message: expect.stringContaining('location "package.json"') });
    expect(sessionsCreated).toEqual([]);
    await runner.close();
  });
});
