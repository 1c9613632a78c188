/** Decoding wire tensors in tests (independent of the agent's own conversion code; only @stun/shared's dtype table is shared). */
import { TYPED_ARRAY_BY_DTYPE, type Dtype, type WireTensor } from "@stun/shared";

export function bytesOf(t: WireTensor): Uint8Array {
  if (Array.isArray(t.data)) throw new TypeError("string tensor");
  return t.data instanceof Uint8Array ? t.data : new Uint8Array(t.data as ArrayBuffer);
}

export function decode(t: WireTensor): ArrayLike<number | bigint> | string[] {
  if (t.dtype === "string") return t.data as string[];
  const b = new Uint8Array(bytesOf(t)); // a copy (Buffer#slice would be a view)
  const C = TYPED_ARRAY_BY_DTYPE[t.dtype as Exclude<Dtype, "string">];
  return new C(b.buffer, 0, b.byteLength / C.BYTES_PER_ELEMENT);
}

export const f32 = (t: WireTensor) => Array.from(decode(t) as Float32Array);

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
