import { type RawTensor, StunError, toTypedArray } from "@stun/shared";
import type { AppContext } from "../context";
import { loadCircuits } from "./circuits";

/**
 * What the proof of a zk task on `modelId` with `inputs` will publish as its first two signals —
 * the terms a `createZkTask` escrow paying it must name (services/chain-escrow.ts): the model's hash
 * (its weights) and the Poseidon hash of the quantized input. Needs the model's built circuit:
 * ESCROW_INVALID while it is being built (the requester read the model hash from a ready circuit).
 */
export async function zkEscrowTerms(app: AppContext, modelId: string, inputs: Record<string, RawTensor>): Promise<{ modelHash: bigint; inputHash: bigint }> {
  const zk = app.zk.ready(modelId);
  if (!zk) {
    throw new StunError("ESCROW_INVALID", `model ${modelId}'s circuit is not built yet (GET /api/v1/models/${modelId}/zk): a zk escrow's terms are checked against it; submit once it is ready`);
  }
  const { model, modelHash } = zk.artifacts;
  const input = inputs[model.input.name];
  if (!input) throw new StunError("VALIDATION_FAILED", `the model's circuit proves input "${model.input.name}", which this task does not have`);
  const { inputHashOf } = await loadCircuits();
  const values = toTypedArray(input, model.input.name).data as ArrayLike<number>;
  return { modelHash: BigInt(modelHash), inputHash: BigInt(await inputHashOf(model, values)) };
}
