import type { PlacedReplicas } from "../qa/result-plan";

/** The most tasks whose replicas this instance placed only in part, remembered for their next claim. */
const REMEMBERED = 4096;

/** A task's replicas as one claim places them (scheduler/dispatcher.ts apply). */
export interface ReplicaPlacement {
  taskId: string;
  inputSha256: string;
  /** Executions the task wants in all, and those dispatched before this claim (the claimed row's). */
  wanted: number;
  dispatched: number;
  /** Placed by this claim. */
  placing: number;
  /** Whether any pair among this claim's picks is trusted. */
  anyTrusted: boolean;
}

/**
 * The shared plan facts (qa/result-plan.ts `PlacedReplicas`) of replicas compared by quorum, across
 * the claims of this instance that place them. A claim with one free slot places one replica of a
 * task that wants two, and the next claim the other — the common case where providers finish one
 * at a time. Both claims' refs then hold one object, so the last result is known as the last.
 *
 * Remembered only while replicas are left to place, for a bounded number of tasks, and trusted only
 * when the claimed row's dispatch count is what this instance placed: a task another instance
 * placed executions of, or one placed again after a tie-break or a retry, gets no shared object.
 * Every use is a hint — a result that takes itself for the last, or not, wrongly still ends right
 * (result-plan.ts).
 */
export class ReplicaPlacements {
  private readonly pending = new Map<string, PlacedReplicas>();

  /** The replicas' shared object for this placement, or undefined when it cannot be known whole. */
  place(p: ReplicaPlacement): PlacedReplicas | undefined {
    const unplaced = p.wanted - p.dispatched - p.placing;
    const earlier = this.pending.get(p.taskId);
    this.pending.delete(p.taskId);
    let replicas: PlacedReplicas;
    if (earlier && earlier.placed === p.dispatched) {
      earlier.out += p.placing;
      earlier.placed += p.placing;
      earlier.unplaced = unplaced;
      earlier.anyTrusted ||= p.anyTrusted;
      replicas = earlier;
    } else if (p.dispatched === 0 && (p.placing >= 2 || unplaced > 0)) {
      replicas = { out: p.placing, placed: p.placing, unplaced, anyTrusted: p.anyTrusted, inputSha256: p.inputSha256 };
    } else return undefined;
    if (unplaced > 0) this.remember(p.taskId, replicas);
    return replicas;
  }

  /** Tasks remembered now (tests). */
  get size(): number {
    return this.pending.size;
  }

  private remember(taskId: string, replicas: PlacedReplicas): void {
    if (this.pending.size >= REMEMBERED) this.pending.delete(this.pending.keys().next().value!);
    this.pending.set(taskId, replicas);
  }
}
