import { findMajority, type CompareOptions, type RawTensor } from "@stun/shared";
import type { StoredVerification } from "../tasks/verification";
import { MAX_TIE_BREAKERS } from "../tasks/verification";

export interface Candidate {
  assignmentId: string;
  outputs: Record<string, RawTensor>;
}

export type Decision = { kind: "accept"; winners: string[]; losers: string[] } | { kind: "tiebreak" } | { kind: "no-consensus"; losers: string[] };

/** Agreeing replicas needed to accept: a strict majority of the replicas asked for. */
export const quorumFor = (replicas: number): number => Math.floor(replicas / 2) + 1;

/**
 * The verdict once all wanted executions are in. A single execution (mode none, or a trusted
 * provider under `auto`) is accepted as is; replicas must reach a quorum of agreement under the
 * tolerance-aware comparator; without one, a tie-breaker runs, and after that the task fails.
 */
export function decide(v: StoredVerification, wanted: number, results: Candidate[], compare: CompareOptions = { argmax: v.argmax }): Decision {
  if (v.mode === "none" || v.single || wanted === 1) {
    return { kind: "accept", winners: [results[0]!.assignmentId], losers: [] };
  }
  const majority = findMajority(results, quorumFor(v.replicas), compare);
  if (majority) {
    return {
      kind: "accept",
      winners: majority.winners.map((i) => results[i]!.assignmentId),
      losers: majority.losers.map((i) => results[i]!.assignmentId),
    };
  }
  if (wanted < v.replicas + MAX_TIE_BREAKERS) return { kind: "tiebreak" };
  return { kind: "no-consensus", losers: [] };
}
