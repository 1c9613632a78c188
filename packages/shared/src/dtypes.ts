import { z } from "zod";

/** Every tensor element type onnxruntime accepts as a model input or output. */
export const DTYPES = ["float32", "float16", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool", "string"] as const;

export type Dtype = (typeof DTYPES)[number];
export const DtypeSchema = z.enum(DTYPES);

/** Bytes per element in the raw little-endian encoding (bool: one byte; string: not fixed-size). */
export const DTYPE_BYTES: Record<Exclude<Dtype, "string">, number> = {
  float32: 4,
  float16: 2,
  float64: 8,
  int8: 1,
  int16: 2,
  int32: 4,
  int64: 8,
  uint8: 1,
  uint16: 2,
  uint32: 4,
  uint64: 8,
  bool: 1,
};

export const FLOAT_DTYPES = ["float32", "float16", "float64"] as const satisfies readonly Dtype[];
export const isFloatDtype = (d: Dtype): d is (typeof FLOAT_DTYPES)[number] => (FLOAT_DTYPES as readonly Dtype[]).includes(d);
