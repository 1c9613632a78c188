pragma circom 2.1.0;

include "fixed_rescale.circom";

/*
 * FixedRelu(nBits, shift): out = max(0, floor(in / 2^shift)) for -2^(nBits-1) <= in < 2^(nBits-1).
 *
 * The rescale after a layer and its ReLU share one bit decomposition (FixedRescale): the sign of
 * floor(in / 2^shift) is the sign of `in`, which is the decomposition's top bit, so the ReLU is one
 * multiplication by that bit. shift = 0 is a plain ReLU with a range check.
 *
 * Constraints: nBits + 1.
 */
template FixedRelu(nBits, shift) {
    signal input in;
    signal output out;

    component rescale = FixedRescale(nBits, shift);
    rescale.in <== in;
    out <== rescale.out * rescale.positive;
}
