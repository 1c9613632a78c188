import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { StunError, type ZkModelStatus } from "@stun/shared";
import type { ModelCircuit } from "@stun/circuits";
import type { AppContext, ZkCircuits } from "../context";
import type { ModelRow } from "../models/row";
import { endOpenTask } from "../tasks/lifecycle";
import { OPEN_TASK_STATUSES } from "../tasks/statuses";
import { loadCircuits } from "./circuits";
import type { ReadyZkModel } from "./ready-model";

/** A circuit's size: the front end's estimate while it builds, the compiler's count once built. */
const constraintsOf = (s: Extract<State, { status: "compiling" | "ready" }>): number => (s.status === "ready" ? s.ready.constraints : s.circuit.stats.estimatedConstraints);
/**
 * The size the proving fee is priced on: always the front end's estimate (known before the build,
 * deterministic from the model's bytes), so the fee quoted before the build is the fee charged
 * after it (docs/PRICING.md § zk).
 */
const pricedConstraints = (s: Extract<State, { status: "compiling" | "ready" }>): number => s.circuit.stats.estimatedConstraints;

/** The files GET /api/v1/models/:id/zk/:file serves, by name. */
export function zkFilePath(zk: ReadyZkModel, file: string): string | undefined {
  const { circuit, keys } = zk.artifacts;
  const files: Record<string, string> = { "circuit.wasm": circuit.wasmPath, "circuit.zkey": keys.zkeyPath, "verification_key.json": keys.vkeyPath };
  return Object.hasOwn(files, file) ? files[file] : undefined;
}

type State =
  | { status: "unsupported"; message: string; unsupported: ZkModelStatus["unsupported"] }
  | { status: "compiling"; circuit: ModelCircuit }
  | { status: "ready"; ready: ReadyZkModel; circuit: ModelCircuit }
  | { status: "failed"; message: string };

/**
 * Each model's zkML circuit (circuits/zkml), per server instance: whether the compiler supports
 * the model, the circuit's size and the proving fee it implies, and — built in the background on
 * the first zk task — its compiled circuit and Groth16 keys. The keys come from the development
 * ceremony unless STUN_PTAU names a public one (circuits/README.md); they are reproducible, so
 * every instance builds the same ones. Builds are cached on disk by content (circuits/.cache or
 * STUN_ZK_CACHE): a restart finds them in a second.
 */
export class ZkModels implements ZkCircuits {
  private readonly states = new Map<string, State>();
  private readonly front = new Map<string, Promise<State>>();

  constructor(private readonly app: AppContext) {}

  /**
   * For a zk task on this model: throws MODEL_NOT_PROVABLE when the compiler cannot prove it,
   * else returns the proving fee per execution and starts building the circuit if it is not yet.
   */
  async prepare(model: ModelRow): Promise<{ fee: bigint; constraints: number }> {
    const state = await this.stateOf(model);
    if (state.status === "unsupported") throw new StunError("MODEL_NOT_PROVABLE", state.message, { unsupported: state.unsupported });
    if (state.status === "failed") throw new StunError("MODEL_NOT_PROVABLE", `the model's circuit could not be built: ${state.message}`);
    return { fee: this.feeFor(pricedConstraints(state)), constraints: constraintsOf(state) };
  }

  /** The built circuit and keys, or undefined while they are being built (or never asked for). */
  ready(modelId: string): ReadyZkModel | undefined {
    const s = this.states.get(modelId);
    return s?.status === "ready" ? s.ready : undefined;
  }

  /** Why the model's circuit could not be built, or undefined (not failed, or never asked for). */
  failure(modelId: string): string | undefined {
    const s = this.states.get(modelId);
    return s?.status === "failed" ? s.message : undefined;
  }

  /** The built circuit, waiting for a build in progress; starts one if this instance has none (e.g. after a restart). */
  async whenReady(model: ModelRow): Promise<ReadyZkModel | undefined> {
    const s = await this.stateOf(model);
    if (s.status === "ready") return s.ready;
    if (s.status !== "compiling") return undefined;
    await this.building.get(model.id);
    return this.ready(model.id);
  }

  /** What GET /api/v1/models/:id/zk answers. */
  async status(model: ModelRow): Promise<ZkModelStatus> {
    const s = await this.stateOf(model);
    const base = { modelId: model.id, status: s.status };
    switch (s.status) {
      case "unsupported":
        return { ...base, message: s.message, unsupported: s.unsupported ?? [] };
      case "failed":
        return { ...base, message: s.message };
      case "compiling":
      case "ready": {
        const constraints = constraintsOf(s);
        const priced = { ...base, constraints, fee: this.feeFor(pricedConstraints(s)).toString() };
        if (s.status === "compiling") return { ...priced, modelHash: s.circuit.modelHash, nPublic: s.circuit.nPublic };
        return { ...priced, modelHash: s.ready.artifacts.modelHash, circuitHash: s.ready.circuitHash, nPublic: s.ready.artifacts.model.nPublic };
      }
    }
  }

  /**
   * Starts the model's front end and circuit build on this instance if it has not (a restart
   * forgets them); a build that fails fails the model's open zk tasks.
   */
  start(model: ModelRow): void {
    this.stateOf(model).catch((err) => this.app.log.error({ err, modelId: model.id }, "zk front end failed"));
  }

  /**
   * The proving fee of a circuit: ZK_FEE_PER_1K_CONSTRAINTS per 1,000 constraints, rounded up —
   * of the front end's estimate, before and after the build alike (so it never drifts between a
   * quote and the charge; tasks also keep the fee they were quoted: it is stored on each).
   */
  feeFor(constraints: number): bigint {
    return (BigInt(constraints) * this.app.config.ZK_FEE_PER_1K_CONSTRAINTS + 999n) / 1000n;
  }

  private readonly building = new Map<string, Promise<void>>();

  /** The model's state; the first call runs the compiler's front end and starts the build. */
  private async stateOf(model: ModelRow): Promise<State> {
    const known = this.states.get(model.id);
    if (known) return known;
    let p = this.front.get(model.id);
    if (!p) {
      p = this.analyse(model).finally(() => this.front.delete(model.id));
      this.front.set(model.id, p);
    }
    return p;
  }

  /** The model's open zk tasks cannot run without its circuit: they fail now (refunded) rather than at their deadline. */
  async failQueued(modelId: string, why: string): Promise<void> {
    const open = await this.app.db.prisma.$queryRaw<Array<{ id: string }>>`
      SELECT id FROM "Task"
      WHERE "modelId" = ${modelId} AND status = ANY(${[...OPEN_TASK_STATUSES]}::text[]) AND verification->>'mode' = 'zk'`;
    for (const { id } of open) {
      await endOpenTask(this.app, id, "failed", "MODEL_NOT_PROVABLE", `the model's circuit could not be built: ${why}`).catch((err) =>
        this.app.log.error({ err, taskId: id }, "failing a zk task failed"),
      );
    }
  }

  private async analyse(model: ModelRow): Promise<State> {
    const max = this.app.config.ZK_MAX_MODEL_BYTES;
    if (model.sizeBytes > max) {
      const state: State = { status: "unsupported", message: `the model is ${model.sizeBytes} bytes; zk proofs are offered for models up to ${max} bytes (ZK_MAX_MODEL_BYTES)`, unsupported: [] };
      this.states.set(model.id, state);
      return state;
    }
    const circuits = await loadCircuits();
    const bytes = await this.app.blobs.get(model.sha256);
    const support = circuits.zkmlSupported(bytes);
    let state: State;
    if (!support.supported) {
      state = { status: "unsupported", message: support.message, unsupported: support.unsupported };
    } else {
      try {
        const circuit = await circuits.buildModelCircuit(bytes);
        state = { status: "compiling", circuit };
      } catch (e) {
        state = { status: "failed", message: (e as Error).message };
      }
    }
    this.states.set(model.id, state);
    if (state.status === "compiling") this.building.set(model.id, this.build(model, bytes, state.circuit));
    return state;
  }

  /** circom → r1cs + wasm, then Groth16 keys (seconds for a small MLP; minutes when a bigger ceremony must be made first). */
  private async build(model: ModelRow, bytes: Uint8Array, circuit: ModelCircuit): Promise<void> {
    const { log } = this.app;
    const t0 = Date.now();
    try {
      const circuits = await loadCircuits();
      const artifacts = await circuits.compileModelCircuit(bytes, { log: (line) => log.debug({ modelId: model.id }, line) });
      const circuitHash = createHash("sha256").update(readFileSync(artifacts.keys.zkeyPath)).digest("hex");
      const constraints = artifacts.circuit.info.constraints;
      this.states.set(model.id, { status: "ready", ready: { artifacts, circuitHash, constraints }, circuit });
      if (artifacts.keys.ptau.source === "dev" && !this.app.config.local) {
        log.warn({ modelId: model.id }, "zk keys come from the INSECURE development ceremony: set STUN_PTAU to a public ceremony's file (circuits/README.md)");
      }
      log.info({ modelId: model.id, constraints, ms: Date.now() - t0 }, "zk circuit ready");
      this.app.bus.workAvailable();
    } catch (e) {
      log.error({ err: e, modelId: model.id }, "zk circuit build failed");
      const message = (e as Error).message;
      this.states.set(model.id, { status: "failed", message });
      await this.failQueued(model.id, message);
    } finally {
      this.building.delete(model.id);
    }
  }
}
