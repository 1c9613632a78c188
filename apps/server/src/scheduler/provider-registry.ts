import { ProviderIndex, isEligible, type Backend, type MatchRequest, type ProviderKind, type ProviderSnapshot } from "@stun/shared";
import type { Socket } from "socket.io";
import type { AttestedKey } from "../tee/attested-key";
import type { AloneSettlement } from "../tasks/alone-settlement";
import type { ResultPlanFacts } from "../qa/result-plan";

/** A slot's assignment as this instance handed it out; what its result's plan needs (`ResultPlanFacts`) included. */
export interface AssignmentRef extends ResultPlanFacts {
  taskId: string;
  modelId: string;
  /** A zk task: the result must carry a proof. */
  zk?: boolean;
  /** A sealed task: the result carries sealed outputs. */
  sealed?: boolean;
  /** Its result is judged alone (qa/judge.ts judgedAlone): what its one-statement settlement needs, known at dispatch. */
  alone?: AloneSettlement;
}

/** A provider connected to this server instance. */
export interface LocalProvider {
  id: string;
  accountId: string;
  name: string;
  kind: ProviderKind;
  backend: Backend;
  region: string;
  /** Flat price per execution; an execution costs price + pricePerUnit × the model's units (priceFor). */
  price: bigint;
  pricePerUnit: bigint;
  slots: number;
  reputation: number;
  completed: number;
  failed: number;
  vramMb: number;
  computeCapability: number;
  benchmarkIps: number;
  socket: Socket;
  /** Assignments this provider holds now, with the task and model each belongs to. */
  active: Map<string, AssignmentRef>;
  /** Leaving: gets no new work. */
  draining: boolean;
  /** Backing off after a BUSY answer: out of matching for a moment. */
  resting?: boolean;
  /** Attested TEE provider: the key sealed tasks are sealed to (docs/TEE.md). */
  tee?: AttestedKey;
}

/**
 * The providers connected to this instance, and the matching index over them. The database
 * keeps the durable record (Provider rows); this is the live view the dispatcher picks from.
 */
export class ProviderRegistry {
  private readonly byId = new Map<string, LocalProvider>();
  private readonly index = new ProviderIndex();

  get size(): number {
    return this.byId.size;
  }

  list(): LocalProvider[] {
    return [...this.byId.values()];
  }

  get(id: string): LocalProvider | undefined {
    return this.byId.get(id);
  }

  add(p: LocalProvider): void {
    this.byId.set(p.id, p);
    this.index.upsert(this.snapshot(p));
  }

  remove(id: string): LocalProvider | undefined {
    const p = this.byId.get(id);
    if (!p) return undefined;
    this.byId.delete(id);
    this.index.remove(id);
    return p;
  }

  setDraining(id: string): void {
    const p = this.byId.get(id);
    if (!p) return;
    p.draining = true;
    this.index.remove(id);
  }

  /**
   * Takes a provider out of matching for `ms` (it answered BUSY: its own count of running work is
   * ahead of ours, e.g. it is still delivering a result from before a reconnect). Without this the
   * dispatcher would offer it the same work again at once, in a tight loop.
   */
  backoff(id: string, ms: number): void {
    const p = this.byId.get(id);
    if (!p || p.draining || p.resting) return;
    p.resting = true;
    this.index.remove(id);
    const timer = setTimeout(() => {
      p.resting = false;
      if (this.byId.get(id) === p && !p.draining) this.index.upsert(this.snapshot(p));
    }, ms);
    timer.unref();
  }

  /** The k best eligible providers for a request (exact top-k by score). */
  pick(req: MatchRequest, k: number): LocalProvider[] {
    if (k <= 0) return [];
    return this.index.pick(req, k).map((id) => this.byId.get(id)!);
  }

  /**
   * The providers registered here that could take the request if they had a free slot — busy or
   * idle, not leaving — that `accept` lets through. Walks every provider: for the rare question
   * "does a checker exist at all" (qa: a task waits for one rather than run unchecked).
   */
  registered(req: MatchRequest, accept: (p: LocalProvider) => boolean = () => true): LocalProvider[] {
    const out: LocalProvider[] = [];
    for (const p of this.byId.values()) {
      if (p.draining || !accept(p)) continue;
      if (isEligible({ ...this.snapshot(p), active: 0 }, req)) out.push(p);
    }
    return out;
  }

  reserve(providerId: string, assignmentId: string, ref: AssignmentRef): void {
    const p = this.byId.get(providerId);
    if (!p) return;
    p.active.set(assignmentId, ref);
    if (!p.draining && !p.resting) this.index.setActive(providerId, p.active.size);
  }

  /** The assignment, if this instance handed it to this provider and it is still held. */
  held(providerId: string, assignmentId: string): AssignmentRef | undefined {
    return this.byId.get(providerId)?.active.get(assignmentId);
  }

  free(providerId: string, assignmentId: string): void {
    const p = this.byId.get(providerId);
    if (!p || !p.active.delete(assignmentId)) return;
    if (!p.draining && !p.resting) this.index.setActive(providerId, p.active.size);
  }

  updateStats(id: string, stats: { reputation: number; completed: number; failed: number }): void {
    this.update(id, stats);
  }

  /** A provider's new quote (provider:price): it applies to the executions dispatched from now. */
  setPrice(id: string, price: { price: bigint; pricePerUnit: bigint }): void {
    this.update(id, price);
  }

  private update(id: string, fields: Partial<Pick<LocalProvider, "reputation" | "completed" | "failed" | "price" | "pricePerUnit">>): void {
    const p = this.byId.get(id);
    if (!p) return;
    Object.assign(p, fields);
    if (!p.draining && !p.resting) this.index.upsert(this.snapshot(p));
  }

  /** Records a provider's attested key (undefined: not, or no longer, attested). */
  setTee(id: string, key: AttestedKey | undefined): void {
    const p = this.byId.get(id);
    if (!p) return;
    if (key) p.tee = key;
    else delete p.tee;
  }

  /**
   * The provider a sealed task was sealed to, when it is here, takes work, has a free slot and
   * still holds the key the task was sealed to (a restarted agent has a new key: its old sealed
   * tasks wait for their deadline).
   */
  sealedTarget(providerId: string, publicKey: string): LocalProvider | undefined {
    const p = this.byId.get(providerId);
    if (!p || p.draining || p.resting || p.active.size >= p.slots || p.tee?.publicKey !== publicKey) return undefined;
    return p;
  }

  /** Free slots across providers that take work. */
  freeSlots(): number {
    let free = 0;
    for (const p of this.byId.values()) if (!p.draining && !p.resting) free += Math.max(0, p.slots - p.active.size);
    return free;
  }

  private snapshot(p: LocalProvider): ProviderSnapshot {
    return {
      id: p.id,
      kind: p.kind,
      backend: p.backend,
      region: p.region,
      price: p.price,
      pricePerUnit: p.pricePerUnit,
      reputation: p.reputation,
      slots: p.slots,
      active: p.active.size,
      vramMb: p.vramMb,
      computeCapability: p.computeCapability,
      benchmarkIps: p.benchmarkIps,
      completed: p.completed,
      failed: p.failed,
    };
  }
}
