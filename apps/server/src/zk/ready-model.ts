import type { ModelArtifacts } from "@stun/circuits";

/** A model whose circuit and keys are built: zk tasks on it can be dispatched and verified. */
export interface ReadyZkModel {
  artifacts: ModelArtifacts;
  /** sha256 of the proving key: names circuit + keys for the providers' caches. */
  circuitHash: string;
  constraints: number;
}
