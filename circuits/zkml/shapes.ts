/** Row-major tensor shapes: sizes, strides, numpy broadcasting and axis permutation. */

export const prod = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

export function strides(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) st[i] = st[i + 1]! * shape[i + 1]!;
  return st;
}

export function broadcastShape(a: readonly number[], b: readonly number[]): number[] | undefined {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return undefined;
    out.push(Math.max(da, db));
  }
  return out;
}

/** For each flat index of `out`, the flat index into a tensor of `shape` broadcast to it. */
export function broadcastIndex(shape: readonly number[], out: readonly number[]): Int32Array {
  const n = prod(out);
  const idx = new Int32Array(n);
  const st = strides(shape);
  const ost = strides(out);
  const off = out.length - shape.length;
  for (let i = 0; i < n; i++) {
    let r = i;
    let j = 0;
    for (let d = 0; d < out.length; d++) {
      const coord = Math.floor(r / ost[d]!);
      r -= coord * ost[d]!;
      const sd = d - off;
      if (sd >= 0 && shape[sd] !== 1) j += coord * st[sd]!;
    }
    idx[i] = j;
  }
  return idx;
}

export function permute<T>(data: readonly T[], shape: readonly number[], perm: readonly number[]): { data: T[]; shape: number[] } {
  const outShape = perm.map((p) => shape[p]!);
  const st = strides(shape);
  const ost = strides(outShape);
  const n = data.length;
  const out = new Array<T>(n);
  for (let i = 0; i < n; i++) {
    let r = i;
    let j = 0;
    for (let d = 0; d < outShape.length; d++) {
      const coord = Math.floor(r / ost[d]!);
      r -= coord * ost[d]!;
      j += coord * st[perm[d]!]!;
    }
    out[i] = data[j]!;
  }
  return { data: out, shape: outShape };
}
