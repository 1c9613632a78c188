/**
 * The typed array each fixed-size dtype decodes to, as onnxruntime takes it: float16 as its raw
 * bit patterns (Uint16Array), bool as one byte 0/1 (Uint8Array), int64/uint64 as BigInt64Array /
 * BigUint64Array. The one table the codec, the SDK, the provider and the test kits share.
 */
import type { Dtype } from "./dtypes";

/** Every typed array a fixed-size dtype decodes to (no Uint8ClampedArray, no float16 array type). */
export type TypedArray = Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array | Uint32Array | BigUint64Array;

/** The constructor side of {@link TypedArray}: a fresh array of `length`, or a view of a buffer. */
export interface TypedArrayConstructor {
  new (length: number): TypedArray;
  new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): TypedArray;
  readonly BYTES_PER_ELEMENT: number;
  readonly name: string;
}

/** The typed array constructor for each dtype but `string`. */
export const TYPED_ARRAY_BY_DTYPE: Readonly<Record<Exclude<Dtype, "string">, TypedArrayConstructor>> = {
  float32: Float32Array,
  float16: Uint16Array,
  float64: Float64Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
  bool: Uint8Array,
};
