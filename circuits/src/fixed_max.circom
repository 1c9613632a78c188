pragma circom 2.1.0;

include "fixed_rescale.circom";

/*
 * FixedMax(nBits): out = max(a, b) for signed fixed-point a, b with -2^(nBits-1) <= a - b < 2^(nBits-1).
 *
 * A comparator by bit decomposition: FixedRescale(nBits, 0) on a - b proves its range and yields
 * ge = [a >= b] (its top bit after the offset); out = b + ge·(a - b) selects the larger one.
 * Used by the zkML compiler for MaxPool (a k×k window is a chain of k²−1 FixedMax).
 *
 * Constraints: nBits + 1.
 */
template FixedMax(nBits) {
    signal input a;
    signal input b;
    signal output out;

    component cmp = FixedRescale(nBits, 0);
    cmp.in <== a - b;
    out <== b + cmp.positive * (a - b);
}
