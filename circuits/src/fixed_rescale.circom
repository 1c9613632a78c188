pragma circom 2.1.0;

include "bitify.circom";

/*
 * FixedRescale(nBits, shift): floor division of a signed fixed-point value by 2^shift, with a range
 * check, and its sign.
 *
 *   Requires (proven): -2^(nBits-1) <= in < 2^(nBits-1)   (as an integer; the field is ~2^254)
 *   out      = floor(in / 2^shift)                          (rounds towards -infinity)
 *   positive = 1 if in >= 0 else 0
 *
 * How: Num2Bits(nBits) decomposes in + 2^(nBits-1) (the offset makes the value non-negative) into
 * nBits boolean bits, which is only possible for values in the range above. The low `shift` bits are
 * the remainder r ∈ [0, 2^shift) and the high bits the quotient, so in = out·2^shift + r holds as an
 * integer identity with one solution; the top bit is the sign. `out` and `positive` are linear in the
 * bits and cost nothing; shift = 0 is a pure range check + sign (a comparator against 0).
 *
 * Constraints: nBits (the bits' booleanity; the recomposition is linear and folded by --O2).
 * nBits must be <= 252 so that the decomposition cannot wrap around the field.
 */
template FixedRescale(nBits, shift) {
    assert(nBits <= 252);
    assert(shift < nBits);
    signal input in;
    signal output out;
    signal output positive;

    component bits = Num2Bits(nBits);
    bits.in <== in + (1 << (nBits - 1));

    var quotient = 0;
    for (var i = shift; i < nBits; i++) {
        quotient += bits.out[i] * (1 << (i - shift));
    }
    out <== quotient - (1 << (nBits - 1 - shift));
    positive <== bits.out[nBits - 1];
}
