/**
 * Proves zk tasks (verification mode `zk`): the assignment's job names the model's circuit
 * (witness generator + proving key, fetched from the server and kept in memory by circuitHash)
 * and the task/provider the proof binds; snarkjs (WASM, worker threads) makes the Groth16 proof.
 */
import { createHash } from "node:crypto";
import * as snarkjs from "snarkjs";
import { proveZkJob, zkInputValues, type Groth16Prover, type WireTensorMap, type ZkJob, type ZkProof } from "@stun/shared";
import { ProviderError, errorMessage } from "@stun/provider-core";
import { currentServer, serverUrl, type ServerRef } from "@stun/provider-core";

/** Circuits kept in memory (a 44k-parameter MLP's proving key is ~2 MB; bigger circuits tens of MB). */
const MAX_CIRCUITS = 4;

export interface ZkProverOptions {
  /** The server, or how to find the one in use (several instances). */
  server: ServerRef;
  apiKey: string;
  fetch?: typeof fetch;
  fetchTimeoutMs?: number;
}

type Artifacts = { wasm: Uint8Array; zkey: Uint8Array };

export class ZkProver {
  private readonly circuits = new Map<string, Promise<Artifacts>>();
  /** Circuits downloaded so far (tests check the cache works). */
  downloads = 0;

  constructor(private readonly opts: ZkProverOptions) {}

  async prove(job: ZkJob, inputs: WireTensorMap): Promise<ZkProof> {
    let values: Float32Array;
    try {
      values = zkInputValues(job, inputs);
    } catch (e) {
      throw new ProviderError("PROOF_FAILED", errorMessage(e));
    }
    const artifacts = await this.artifacts(job);
    try {
      const { proof, publicSignals, proveMs } = await proveZkJob(snarkjs as unknown as Groth16Prover, job, artifacts, values);
      return { proof, publicSignals, proveMs: Number(proveMs.toFixed(1)) };
    } catch (e) {
      throw new ProviderError("PROOF_FAILED", `proving failed: ${errorMessage(e)}`, { cause: e });
    }
  }

  private artifacts(job: ZkJob): Promise<Artifacts> {
    let p = this.circuits.get(job.circuitHash);
    if (!p) {
      p = this.download(job);
      this.circuits.set(job.circuitHash, p);
      p.catch(() => this.circuits.delete(job.circuitHash));
      if (this.circuits.size > MAX_CIRCUITS) this.circuits.delete(this.circuits.keys().next().value!);
    }
    return p;
  }

  private async download(job: ZkJob): Promise<Artifacts> {
    this.downloads++;
    const [wasm, zkey] = await Promise.all([this.get(job.wasmUrl), this.get(job.zkeyUrl)]);
    const digest = createHash("sha256").update(zkey).digest("hex");
    if (digest !== job.circuitHash) throw new ProviderError("PROOF_FAILED", `the proving key hashes to ${digest}, the job names ${job.circuitHash}`);
    return { wasm, zkey };
  }

  private async get(url: string): Promise<Uint8Array> {
    const full = serverUrl(currentServer(this.opts.server), url, "PROOF_FAILED");
    let res: Response;
    try {
      res = await (this.opts.fetch ?? fetch)(full, {
        headers: { authorization: `Bearer ${this.opts.apiKey}` },
        signal: AbortSignal.timeout(this.opts.fetchTimeoutMs ?? 120_000),
      });
    } catch (e) {
      throw new ProviderError("PROOF_FAILED", `GET ${full} failed: ${errorMessage(e)}`, { cause: e });
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      throw new ProviderError("PROOF_FAILED", `GET ${full} answered HTTP ${res.status}`);
    }
    return new Uint8Array(await res.arrayBuffer());
  }
}
