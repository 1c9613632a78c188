/**
 * The server as referee: when replicas disagree, the marketplace's own onnxruntime-node (CPU) run
 * decides instead of a third provider, for models it can run cheaply and compare across backends.
 * A provider tie-breaker could be the partner of a colluding replica, and two colluders outvote
 * one honest provider; the reference run cannot collude. bench/qa-sim measured honest providers'
 * losses to false accusations going to 0 with it (docs/QA.md).
 */
import type { RawTensor } from "@stun/shared";
import type { AppContext } from "../context";
import type { ModelRow } from "../models/row";
import { calibrationOf } from "../models/calibration";

/** The candidate id the referee's outputs carry in a decision. */
export const REFEREE = "referee";

/**
 * Whether the server referees this model's disputes: calibrated (it runs on the server), comparable
 * across backends (no same-backend quorum) and small enough to run inside the result transaction.
 */
export function canReferee(model: Pick<ModelRow, "calibration" | "sizeBytes">, maxBytes: number): boolean {
  const c = calibrationOf(model);
  return c?.status === "calibrated" && !c.sameBackendQuorum && model.sizeBytes <= maxBytes;
}

/**
 * The reference outputs for a task's inputs (run in an ONNX worker process, within the run budget);
 * undefined when the run fails or goes over budget (a provider tie-breaker then decides).
 */
export async function refereeOutputs(app: AppContext, model: ModelRow, inputSha256: string): Promise<Record<string, RawTensor> | undefined> {
  try {
    const [bytes, inputs] = await Promise.all([app.blobs.get(model.sha256), app.blobs.get(inputSha256)]);
    return await app.onnx.run(bytes, inputs);
  } catch (err) {
    app.log.warn({ err, modelId: model.id }, "referee run failed; a provider tie-breaker decides");
    return undefined;
  }
}
