pragma circom 2.1.0;

include "poseidon.circom";

/*
 * PoseidonSponge(nChunks): the digest of a fixed-length vector of 16·nChunks field elements.
 *
 *   d_0 = 0
 *   d_i = PoseidonEx(16, 1)(in[16(i-1) .. 16i-1], initialState = d_{i-1}).out[0]     (i = 1..nChunks)
 *   out = d_nChunks
 *
 * Each chunk is one Poseidon permutation of width t = 17 (16 inputs + the capacity element, which
 * carries the previous digest: a Merkle–Damgård chain of Poseidon-16 with the standard circomlib
 * constants). circomlibjs computes the same value with `poseidon(chunk, d_{i-1})`; @stun/circuits'
 * `poseidonSponge()` is the reference implementation. Shorter vectors are padded with zeros by the
 * caller: the length is a circuit constant, so the verifier knows it.
 *
 * Constraints (circom --O2): 612 per chunk (t = 17: 8 full rounds × 17 S-boxes + 68 partial rounds
 * = 204 S-boxes, 3 constraints per x^5), 3 fewer in the first chunk (its capacity element is the
 * constant 0) and a few fewer when inputs are constants (zero padding): 609 + 612·(nChunks − 1);
 * nChunks = 1: 609, 2: 1,221, 49 (784 inputs): 29,985.
 */
template PoseidonSponge(nChunks) {
    signal input in[16 * nChunks];
    signal output out;

    component perm[nChunks];
    for (var c = 0; c < nChunks; c++) {
        perm[c] = PoseidonEx(16, 1);
        for (var i = 0; i < 16; i++) {
            perm[c].inputs[i] <== in[16 * c + i];
        }
        if (c == 0) {
            perm[c].initialState <== 0;
        } else {
            perm[c].initialState <== perm[c - 1].out[0];
        }
    }
    out <== perm[nChunks - 1].out[0];
}
