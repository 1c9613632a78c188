/**
 * Loads onnxruntime-web in the provider worker from the Stun server's own `/ort/` (never a CDN):
 * the WASM-only build for `wasm` (the smallest and, at batch 1, the fastest), the WebGPU build for
 * `webgpu`. It is imported at run time rather than bundled, so the page and the `.wasm` files it
 * loads always come from the same onnxruntime-web release the server ships, and the export stays
 * small. Types come from the npm package.
 */
import type * as Ort from "onnxruntime-web";
import type { WebBackend } from "./messages";

/** onnxruntime-web's module, as loadOrt gives it (tests pass onnxruntime-node's, which has the same API). */
export type OrtModule = typeof Ort;

export const ORT_BASE_PATH = "/ort/";

const BUNDLE: Record<WebBackend, string> = {
  wasm: "ort.wasm.min.mjs",
  webgpu: "ort.webgpu.min.mjs",
};

export async function loadOrt(origin: string, backend: WebBackend, threads: number): Promise<OrtModule> {
  const url = new URL(`${ORT_BASE_PATH}${BUNDLE[backend]}`, origin).href;
  const mod = (await import(/* webpackIgnore: true */ /* turbopackIgnore: true */ url)) as OrtModule & { default?: OrtModule };
  const ort = (mod.InferenceSession ? mod : mod.default) as OrtModule;
  ort.env.wasm.wasmPaths = new URL(ORT_BASE_PATH, origin).href;
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.proxy = false;
  ort.env.logLevel = "error";
  return ort;
}

export function sessionOptionsFor(backend: WebBackend): import("onnxruntime-web").InferenceSession.SessionOptions {
  return backend === "webgpu" ? { executionProviders: ["webgpu"], graphOptimizationLevel: "all" } : { executionProviders: ["wasm"], graphOptimizationLevel: "all" };
}
