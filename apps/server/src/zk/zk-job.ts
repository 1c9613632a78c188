import { fromTypedArray, toTypedArray, type Groth16Proof, type RawTensor, type TensorInfo, type ZkJob, type ZkProof } from "@stun/shared";
import type { AppContext } from "../context";
import type { ReadyZkModel } from "./ready-model";
import { loadCircuits } from "./circuits";

/**
 * The provider a zk proof is bound to (its last public signal): the account's linked wallet when
 * it has one — so that ComputeMarketplace.settleWithProof can pay that address — else the
 * provider id, hashed into the field.
 */
export async function providerSignalOf(app: AppContext, providerId: string): Promise<{ signal: string; address: string }> {
  const { addressToField } = await loadCircuits();
  const [row] = await app.db.prisma.$queryRaw<Array<{ walletAddress: string | null }>>`
    SELECT a."walletAddress" FROM "Provider" p JOIN "Account" a ON a.id = p."accountId" WHERE p.id = ${providerId}`;
  const address = row?.walletAddress ?? providerId;
  return { signal: addressToField(address).toString(), address };
}

/** The proving job sent with a zk task's assignment (`Assign.zk`, docs/PROTOCOL.md). */
export async function zkJobFor(app: AppContext, zk: ReadyZkModel, modelId: string, taskId: string, providerId: string): Promise<ZkJob> {
  const { taskIdToField } = await loadCircuits();
  const { model } = zk.artifacts;
  const base = `/api/v1/models/${modelId}/zk`;
  return {
    circuitHash: zk.circuitHash,
    wasmUrl: `${base}/circuit.wasm`,
    zkeyUrl: `${base}/circuit.zkey`,
    input: model.input.name,
    inputSize: model.input.size,
    scaleBits: model.options.scaleBits,
    taskSignal: taskIdToField(taskId).toString(),
    providerSignal: (await providerSignalOf(app, providerId)).signal,
  };
}

export type ZkCheck =
  | { ok: true; outputs: Record<string, RawTensor>; receipt: { circuitHash: string; modelHash: string; inputHash: string; proof: Groth16Proof; publicSignals: string[] } }
  | { ok: false; code: "PROOF_MISSING" | "PROOF_INVALID"; message: string };

/**
 * Checks a zk result: the Groth16 proof against the model's verification key, bound to this
 * model's weights (modelHash), this task's input (the input hash the server recomputes from the
 * stored input), this task and this provider. The outputs the task delivers are the ones the
 * proof publishes (dequantized), not what the provider sent beside it.
 */
export async function checkZkResult(
  app: AppContext,
  zk: ReadyZkModel,
  bind: { taskId: string; providerId: string; input: RawTensor; outputs: TensorInfo[] },
  proof: ZkProof | undefined,
): Promise<ZkCheck> {
  if (!proof) return { ok: false, code: "PROOF_MISSING", message: "this is a zk task: the result must carry a proof (Result.zk)" };
  const circuits = await loadCircuits();
  const { model, vkey, modelHash } = zk.artifacts;
  const values = toTypedArray(bind.input, model.input.name).data as ArrayLike<number>;
  const expectedInputHash = await circuits.inputHashOf(model, values);
  const provider = BigInt((await providerSignalOf(app, bind.providerId)).signal);
  const valid = await circuits.verifyInference(vkey, proof.proof, proof.publicSignals, modelHash, { expectedInputHash, taskId: bind.taskId, provider });
  if (!valid) return { ok: false, code: "PROOF_INVALID", message: "the proof does not verify for this model, input, task and provider" };
  const decoded = circuits.decodeOutputs(model, proof.publicSignals);
  const outputs: Record<string, RawTensor> = {};
  for (const info of bind.outputs) {
    const d = decoded.find((o) => o.name === info.name);
    if (!d) return { ok: false, code: "PROOF_INVALID", message: `the circuit publishes no output "${info.name}"` };
    outputs[info.name] = fromTypedArray({ dtype: "float32", dims: d.shape, data: d.data }, info.name);
  }
  return {
    ok: true,
    outputs,
    receipt: { circuitHash: zk.circuitHash, modelHash, inputHash: proof.publicSignals[1]!, proof: proof.proof, publicSignals: proof.publicSignals },
  };
}
