import { idToBytes32 } from "@stun/contracts";
import { type TensorMapJson, type ZkEscrowTerms, tensorMapFromJson, validateInputsAgainstSignature, type TensorInfo } from "@stun/shared";
import type { AppContext } from "../context";
import { newId } from "../ids";
import { getModelRow } from "../models/cache";
import { zkEscrowTerms } from "../zk/escrow-terms";

/**
 * The terms of a `createZkTask` escrow for a zk task on `modelId` with `inputs` (checked against the
 * model's signature, as a submit checks them): a fresh task id — nothing is reserved; the escrow
 * made under it is what claims it — and the hashes its proof will publish. MODEL_NOT_PROVABLE for a
 * model no circuit can prove; ESCROW_INVALID while the model's circuit is being built.
 */
export async function zkEscrowTermsFor(app: AppContext, modelId: string, inputs: TensorMapJson): Promise<ZkEscrowTerms> {
  const model = await getModelRow(app, modelId);
  const tensors = tensorMapFromJson(inputs);
  validateInputsAgainstSignature(tensors, model.inputs as TensorInfo[]);
  // 400 MODEL_NOT_PROVABLE for a model the compiler cannot prove (and its circuit's build starts).
  await app.zk.prepare(model);
  const { modelHash, inputHash } = await zkEscrowTerms(app, model.id, tensors);
  const taskId = newId("tsk");
  return { taskId, escrowId: idToBytes32(taskId).toLowerCase(), modelHash: modelHash.toString(), inputHash: inputHash.toString() };
}
