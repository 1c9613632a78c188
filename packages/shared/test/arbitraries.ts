/** fast-check arbitraries shared by the shared-package tests (not a test file itself). */
import fc from "fast-check";
import { DTYPE_BYTES, DTYPES, type Dtype } from "../src/dtypes";
import type { ProviderSnapshot } from "../src/scoring";
import { elementCount, type RawTensor } from "../src/tensor";

export const arbDims = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 });
export const arbTensorName = fc.string({ unit: "binary", minLength: 1, maxLength: 12 });

/** Copies bytes to a view at `offset` inside a larger buffer (unaligned for offset ∉ {0, 8}). */
export function atOffset(bytes: Uint8Array, offset: number): Uint8Array {
  const host = new Uint8Array(bytes.length + offset + 3);
  host.set(bytes, offset);
  return host.subarray(offset, offset + bytes.length);
}

/** Any valid raw tensor of the given dtypes, data possibly at an unaligned offset. */
export function arbRawTensor(dtypes: readonly Dtype[] = DTYPES): fc.Arbitrary<RawTensor> {
  return fc.record({ dtype: fc.constantFrom(...dtypes), dims: arbDims, offset: fc.integer({ min: 0, max: 7 }) }).chain(({ dtype, dims, offset }) => {
    const n = elementCount(dims);
    if (dtype === "string") {
      return fc.array(fc.string({ unit: "binary", maxLength: 6 }), { minLength: n, maxLength: n }).map((data): RawTensor => ({ dtype, dims, data }));
    }
    const bytes = n * DTYPE_BYTES[dtype];
    const data = dtype === "bool" ? fc.uint8Array({ min: 0, max: 1, minLength: n, maxLength: n }) : fc.uint8Array({ minLength: bytes, maxLength: bytes });
    return data.map((d): RawTensor => ({ dtype, dims, data: atOffset(d, offset) }));
  });
}

/** A tensor-name → tensor map. */
export const arbTensorMap = fc.dictionary(arbTensorName, arbRawTensor(), { maxKeys: 4 });

/** Little-endian bytes of numbers/bigints written through a DataView setter. */
export function leBytes<T>(values: T[], width: number, set: (v: DataView, off: number, x: T) => void): Uint8Array {
  const out = new Uint8Array(values.length * width);
  const view = new DataView(out.buffer);
  values.forEach((x, i) => set(view, i * width, x));
  return out;
}
export const f32 = (xs: number[]) => leBytes(xs, 4, (v, o, x) => v.setFloat32(o, x, true));
export const f64 = (xs: number[]) => leBytes(xs, 8, (v, o, x) => v.setFloat64(o, x, true));
export const i32 = (xs: number[]) => leBytes(xs, 4, (v, o, x) => v.setInt32(o, x, true));
export const i64 = (xs: bigint[]) => leBytes(xs, 8, (v, o, x) => v.setBigInt64(o, x, true));

/** A valid provider snapshot with overrides. */
export const provider = (over: Partial<ProviderSnapshot> = {}): ProviderSnapshot => ({
  id: "p1",
  kind: "native",
  backend: "cuda",
  region: "eu-west",
  price: 100n,
  reputation: 0.5,
  slots: 2,
  active: 0,
  vramMb: 8000,
  computeCapability: 8.6,
  benchmarkIps: 100,
  completed: 0,
  failed: 0,
  ...over,
});
