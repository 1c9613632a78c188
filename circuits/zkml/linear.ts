/**
 * Linear forms Σ coef·signal + c over the circuit's signals: what every value between two
 * constrained steps is. Adding and scaling them by constants costs no constraint (circom folds
 * linear expressions into the constraints that use them), so the compiler keeps them symbolic.
 */

/** A linear form Σ coef·signal + c over the circuit's signals (integers; negative coefficients allowed). */
export interface Lin {
  t: Map<number, bigint>;
  c: bigint;
}

export const linConst = (c: bigint): Lin => ({ t: new Map(), c });
export const linSig = (s: number): Lin => ({ t: new Map([[s, 1n]]), c: 0n });

/** acc += a · s (in place). */
export function linAddScaled(acc: Lin, a: Lin, s: bigint): void {
  if (s === 0n) return;
  for (const [k, v] of a.t) {
    const nv = (acc.t.get(k) ?? 0n) + v * s;
    if (nv === 0n) acc.t.delete(k);
    else acc.t.set(k, nv);
  }
  acc.c += a.c * s;
}

export function linScale(a: Lin, s: bigint): Lin {
  const out = linConst(0n);
  linAddScaled(out, a, s);
  return out;
}

export function linAdd(a: Lin, b: Lin, sb = 1n): Lin {
  const out = linConst(0n);
  linAddScaled(out, a, 1n);
  linAddScaled(out, b, sb);
  return out;
}

/** The form's value given every signal's value (`vals[signal]`). */
export function evalLin(l: Lin, vals: bigint[]): bigint {
  let v = l.c;
  for (const [k, c] of l.t) v += c * vals[k]!;
  return v;
}
