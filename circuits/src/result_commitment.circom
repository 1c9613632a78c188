pragma circom 2.1.0;

include "poseidon.circom";
include "poseidon_sponge.circom";

/*
 * ResultCommitment(nChunks): "I know outputs (and a salt) whose commitment is `commitment`, for task
 * `taskId`, as provider `provider`."
 *
 * Public inputs (in this order in snarkjs' publicSignals): taskId, provider, commitment.
 * Private inputs: outputs[16·nChunks] (quantized output values as field elements; negative values
 * are p − |v|; vectors shorter than 16·nChunks are padded with zeros), salt.
 *
 *   digest     = PoseidonSponge(nChunks)(outputs)          (chunks of 16; see poseidon_sponge.circom)
 *   commitment = Poseidon(4)(taskId, provider, salt, digest)
 *
 * taskId and provider are inside the hash, so a commitment (and its proof) made for one task or by
 * one provider is worthless for another: another provider cannot copy a commitment it did not make,
 * and the salt keeps low-entropy outputs (a class index) from being guessed from the commitment.
 *
 * Constraints (circom --O2): 609 + 612·(nChunks − 1) (the sponge) + 297 (Poseidon(4): t = 5,
 * 8·5 + 60 = 100 S-boxes, 3 constraints each, 3 folded by the optimizer) —
 * nChunks = 1 (16 outputs): 906; nChunks = 2 (32 outputs): 1,518.
 */
template ResultCommitment(nChunks) {
    signal input taskId;
    signal input provider;
    signal input commitment;
    signal input outputs[16 * nChunks];
    signal input salt;

    component digest = PoseidonSponge(nChunks);
    for (var i = 0; i < 16 * nChunks; i++) {
        digest.in[i] <== outputs[i];
    }

    component hash = Poseidon(4);
    hash.inputs[0] <== taskId;
    hash.inputs[1] <== provider;
    hash.inputs[2] <== salt;
    hash.inputs[3] <== digest.out;

    commitment === hash.out;
}
