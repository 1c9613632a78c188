/** The public model hash: a Poseidon sponge over the quantized constants the circuit is built from. */
import { textToField } from "../lib/field";
import { poseidonSponge } from "../lib/poseidon";
import { type ResolvedZkmlOptions, ZKML_COMPILER_VERSION } from "./options";

/** The tag that starts the model hash's material ("stun-zkml-v1" as a field element). */
export const MODEL_HASH_TAG = textToField(`stun-zkml-v${ZKML_COMPILER_VERSION}`);

/** PoseidonSponge([tag, k, A, n, w_1 … w_n]): the model hash over quantized constants. */
export async function modelHashOfMaterial(material: readonly bigint[], opts: ResolvedZkmlOptions): Promise<bigint> {
  return poseidonSponge([MODEL_HASH_TAG, BigInt(opts.scaleBits), BigInt(opts.activationBits), BigInt(material.length), ...material]);
}
