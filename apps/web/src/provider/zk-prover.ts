/**
 * Proves zk tasks in the browser provider's worker (`Assign.zk`, docs/PROTOCOL.md): the circuit's
 * witness generator (circom WASM) and Groth16 proving key (.zkey) are fetched from the server
 * (`GET <origin><job.wasmUrl>` / `<job.zkeyUrl>` with the API key, only ever on the server's own
 * origin), the key checked against `job.circuitHash` (sha256 of the .zkey bytes), both kept by
 * circuit hash in memory and in the {@link ModelStore} (IndexedDB), and the proof made with
 * snarkjs' browser build through `proveZkJob` from @stun/shared.
 *
 * snarkjs is imported on first use (a separate chunk of the worker bundle: providers that never
 * see a zk task never load its ~1 MB). In a worker it runs its multi-scalar multiplications on
 * nested workers (one per core, started from data: URLs; no SharedArrayBuffer needed); where a
 * worker cannot start workers it runs on one thread (`singleThread`). A proof that takes longer
 * than `timeoutMs` is reported as PROOF_FAILED (snarkjs cannot be interrupted; later proofs then
 * run single-threaded, in case nested workers were what hung). Every failure is a ProviderError
 * PROOF_FAILED (the native agent's code: circuit download, key mismatch, input, snarkjs) whose
 * message says which.
 */
import { type Groth16Prover, type WireTensorMap, type ZkJob, type ZkProof, proveZkJob, zkInputValues as sharedZkInputValues, zkWitnessInput } from "@stun/shared";
import { ProviderError, errorMessage, serverUrl, sha256Hex } from "@stun/provider-core";
import type { ModelStore } from "./model-store";

export interface ZkArtifacts {
  wasm: Uint8Array;
  zkey: Uint8Array;
}

export type ZkSource = "memory" | "cache" | "download";

export interface ZkProverOptions {
  /** The server's origin; circuit URLs must be on it (they get the API key). */
  server: string;
  apiKey: string;
  /** Where circuits persist across reloads (the model cache's IndexedDB); none: memory only. */
  store?: ModelStore;
  /** snarkjs (default: its browser build, imported on first use). */
  loadSnarkjs?: () => Promise<Groth16Prover>;
  /** Prove on the calling thread only (default: nested workers when this scope can start workers). */
  singleThread?: boolean;
  /** Longest a proof may take before it is reported as failed (default 5 min). */
  timeoutMs?: number;
  fetchTimeoutMs?: number;
  /** Largest artifact accepted (default 512 MiB). */
  maxBytes?: number;
  /** Circuits kept in memory (default 2). */
  maxCircuits?: number;
  fetch?: typeof fetch;
  /** Told where a circuit's artifacts came from (downloads and cache hits). */
  onArtifacts?: (e: { circuitHash: string; source: "cache" | "download"; bytes: number; ms: number }) => void;
}

export interface ZkOutcome extends ZkProof {
  proveMs: number;
  /** Time to get the circuit's artifacts (0 when they were in memory). */
  fetchMs: number;
  source: ZkSource;
}

const DEFAULT_TIMEOUT_MS = 5 * 60_000;
const DEFAULT_MAX_BYTES = 512 * 1024 * 1024;

/** snarkjs' browser build (`snarkjs` resolves to build/browser.esm.js under the `browser` condition). */
const importSnarkjs = async (): Promise<Groth16Prover> => {
  const mod = (await import("snarkjs")) as Groth16Prover & { default?: Groth16Prover };
  return mod.groth16 ? mod : mod.default!;
};

/** The float values of the job's input tensor (row-major), checked against the circuit's input size. */
export function zkInputValues(job: Pick<ZkJob, "input" | "inputSize">, inputs: WireTensorMap): Float32Array {
  try {
    return sharedZkInputValues(job, inputs);
  } catch (e) {
    throw new ProviderError("PROOF_FAILED", errorMessage(e));
  }
}

export class ZkProver {
  private readonly memory = new Map<string, ZkArtifacts>();
  private readonly pending = new Map<string, Promise<{ artifacts: ZkArtifacts; fetchMs: number; source: "cache" | "download" }>>();
  private snarkjs: Promise<Groth16Prover> | undefined;
  private singleThread: boolean;
  private downloadCount = 0;

  constructor(private readonly o: ZkProverOptions) {
    this.singleThread = o.singleThread ?? typeof (globalThis as { Worker?: unknown }).Worker !== "function";
  }

  get server(): string {
    return this.o.server;
  }

  get apiKey(): string {
    return this.o.apiKey;
  }

  /** Artifact downloads made so far (tests check the cache with it). */
  get downloadsMade(): number {
    return this.downloadCount;
  }

  /** Whether proofs run on this thread only. */
  get singleThreaded(): boolean {
    return this.singleThread;
  }

  /** Proves `job` on `input` (the float values of the input tensor the job names). */
  async prove(job: ZkJob, input: ArrayLike<number>): Promise<ZkOutcome> {
    if (input.length !== job.inputSize) throw new ProviderError("PROOF_FAILED", `the input has ${input.length} values; the circuit takes ${job.inputSize}`);
    try {
      zkWitnessInput(job, input); // NaN/∞ and the like fail here, before any download
    } catch (e) {
      throw new ProviderError("PROOF_FAILED", `the input cannot enter the circuit: ${errorMessage(e)}`, { cause: e });
    }
    const { artifacts, fetchMs, source } = await this.artifacts(job);
    let snarkjs: Groth16Prover;
    try {
      snarkjs = await (this.snarkjs ??= (this.o.loadSnarkjs ?? importSnarkjs)());
    } catch (e) {
      this.snarkjs = undefined;
      throw new ProviderError("PROOF_FAILED", `could not load snarkjs: ${errorMessage(e)}`, { cause: e });
    }
    const timeoutMs = this.o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ProviderError("PROOF_FAILED", `the proof took longer than ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
    });
    try {
      const r = await Promise.race([proveZkJob(snarkjs, job, artifacts, input, { singleThread: this.singleThread }), timedOut]);
      return { proof: r.proof, publicSignals: r.publicSignals, proveMs: r.proveMs, fetchMs, source };
    } catch (e) {
      if (e instanceof ProviderError) {
        this.singleThread = true; // a hang is most likely the nested workers: do without them from now on
        throw e;
      }
      // A failed assertion is the input (a value out of the circuit's range); anything else may be
      // the artifacts (the witness generator is not covered by circuitHash): fetch them again next time.
      if (!/Assert Failed/i.test(errorMessage(e))) this.forget(job.circuitHash);
      throw new ProviderError("PROOF_FAILED", `snarkjs could not prove circuit ${job.circuitHash.slice(0, 12)}: ${errorMessage(e)}`, { cause: e });
    } finally {
      clearTimeout(timer);
    }
  }

  /** The circuit's artifacts: in memory, else from the store (key re-checked), else downloaded (once for concurrent callers). */
  async artifacts(job: Pick<ZkJob, "circuitHash" | "wasmUrl" | "zkeyUrl">): Promise<{ artifacts: ZkArtifacts; fetchMs: number; source: ZkSource }> {
    const hit = this.memory.get(job.circuitHash);
    if (hit) {
      this.memory.delete(job.circuitHash);
      this.memory.set(job.circuitHash, hit); // most recently used last
      return { artifacts: hit, fetchMs: 0, source: "memory" };
    }
    let p = this.pending.get(job.circuitHash);
    if (!p) {
      p = this.load(job).finally(() => this.pending.delete(job.circuitHash));
      this.pending.set(job.circuitHash, p);
    }
    const r = await p;
    this.memory.set(job.circuitHash, r.artifacts);
    const max = Math.max(1, this.o.maxCircuits ?? 2);
    while (this.memory.size > max) this.memory.delete(this.memory.keys().next().value!);
    return r;
  }

  private forget(circuitHash: string): void {
    this.memory.delete(circuitHash);
    void this.o.store?.delete(storeKey(circuitHash, "wasm")).catch(() => undefined);
    void this.o.store?.delete(storeKey(circuitHash, "zkey")).catch(() => undefined);
  }

  private async load(job: Pick<ZkJob, "circuitHash" | "wasmUrl" | "zkeyUrl">): Promise<{ artifacts: ZkArtifacts; fetchMs: number; source: "cache" | "download" }> {
    const t0 = performance.now();
    const store = this.o.store;
    if (store) {
      const [wasm, zkey] = await Promise.all([store.get(storeKey(job.circuitHash, "wasm")), store.get(storeKey(job.circuitHash, "zkey"))]).catch(() => [undefined, undefined]);
      if (wasm && zkey && (await sha256Hex(zkey)) === job.circuitHash) {
        const ms = performance.now() - t0;
        this.o.onArtifacts?.({ circuitHash: job.circuitHash, source: "cache", bytes: wasm.byteLength + zkey.byteLength, ms });
        return { artifacts: { wasm, zkey }, fetchMs: ms, source: "cache" };
      }
    }
    const [wasm, zkey] = await Promise.all([this.download(job.wasmUrl, "witness generator"), this.download(job.zkeyUrl, "proving key")]);
    const digest = await sha256Hex(zkey);
    if (digest !== job.circuitHash) {
      throw new ProviderError("PROOF_FAILED", `the proving key from ${job.zkeyUrl} hashes to ${digest}, but the job names circuit ${job.circuitHash}; not used`);
    }
    if (store) {
      // A full disk only costs the next download.
      await store.put(storeKey(job.circuitHash, "wasm"), wasm).catch(() => undefined);
      await store.put(storeKey(job.circuitHash, "zkey"), zkey).catch(() => undefined);
    }
    const ms = performance.now() - t0;
    this.o.onArtifacts?.({ circuitHash: job.circuitHash, source: "download", bytes: wasm.byteLength + zkey.byteLength, ms });
    return { artifacts: { wasm, zkey }, fetchMs: ms, source: "download" };
  }

  private async download(rel: string, what: string): Promise<Uint8Array> {
    const url = serverUrl(this.o.server, rel, "PROOF_FAILED");
    this.downloadCount++;
    const f = this.o.fetch ?? globalThis.fetch.bind(globalThis);
    let res: Response;
    try {
      res = await f(url, { headers: { authorization: `Bearer ${this.o.apiKey}` }, signal: AbortSignal.timeout(this.o.fetchTimeoutMs ?? 120_000), cache: "no-store" });
    } catch (e) {
      throw new ProviderError("PROOF_FAILED", `GET ${url} (${what}) failed: ${errorMessage(e)}`, { cause: e });
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      throw new ProviderError("PROOF_FAILED", `GET ${url} (${what}) answered HTTP ${res.status}`);
    }
    const limit = this.o.maxBytes ?? DEFAULT_MAX_BYTES;
    const declared = Number(res.headers.get("content-length") ?? "0");
    if (declared > limit) {
      await res.body?.cancel().catch(() => undefined);
      throw new ProviderError("PROOF_FAILED", `GET ${url} (${what}): ${declared} bytes is more than the ${limit} accepted`);
    }
    try {
      const buf = await res.arrayBuffer();
      if (buf.byteLength > limit) throw new ProviderError("PROOF_FAILED", `GET ${url} (${what}): ${buf.byteLength} bytes is more than the ${limit} accepted`);
      return new Uint8Array(buf);
    } catch (e) {
      if (e instanceof ProviderError) throw e;
      throw new ProviderError("PROOF_FAILED", `GET ${url} (${what}) failed while reading: ${errorMessage(e)}`, { cause: e });
    }
  }
}

/** Circuits share the model cache's store under keys no sha256 can collide with. */
const storeKey = (circuitHash: string, part: "wasm" | "zkey") => `zk-${part}:${circuitHash}`;
