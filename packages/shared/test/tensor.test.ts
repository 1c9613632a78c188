import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DTYPE_BYTES, DTYPES } from "../src/dtypes";
import { StunError } from "../src/errors";
import type { TensorInfo } from "../src/schemas/common";
import {
  elementCount,
  expectedByteLength,
  fromTypedArray,
  MAX_ELEMENTS,
  type RawTensor,
  type Tensor,
  tensorFromJson,
  tensorMapFromJson,
  tensorMapToJson,
  tensorToJson,
  toTypedArray,
  validateInputsAgainstSignature,
  validateRawTensor,
} from "../src/tensor";
import { TYPED_ARRAY_BY_DTYPE } from "../src/typed-arrays";
import { arbRawTensor, atOffset, f32, i64 } from "./arbitraries";

/** Runs `fn` and returns the StunError it throws (fails the test if it does not throw one). */
function stunError(fn: () => unknown): StunError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(StunError);
    return e as StunError;
  }
  throw new Error("expected a StunError");
}

describe("sizes", () => {
  it("counts elements and bytes", () => {
    expect(elementCount([])).toBe(1);
    expect(elementCount([2, 3, 4])).toBe(24);
    expect(elementCount([2, 0, 4])).toBe(0);
    expect(expectedByteLength("float16", [3, 5])).toBe(30);
    expect(expectedByteLength("int64", [])).toBe(8);
    expect(expectedByteLength("bool", [7])).toBe(7);
    expect(stunError(() => expectedByteLength("string", [1])).code).toBe("TENSOR_INVALID");
  });
});

describe("validateRawTensor", () => {
  const ok: RawTensor = { dtype: "float32", dims: [2], data: f32([1, 2]) };

  it("accepts valid tensors of every dtype", () => {
    fc.assert(fc.property(arbRawTensor(), (t) => validateRawTensor(t, "x")));
  });

  it.each([
    [{ ...ok, dims: [-1] }, "TENSOR_INVALID", 'tensor "img": dimension 0 is -1'],
    [{ ...ok, dims: [1.5] }, "TENSOR_INVALID", "dimension 0 is 1.5"],
    [{ ...ok, dims: [1, 1, 1, 1, 1, 1, 1, 1, 2] }, "TENSOR_INVALID", "rank 9 exceeds the maximum of 8"],
    [{ ...ok, dims: [2 ** 15, 2 ** 14] }, "TENSOR_INVALID", `exceeds the limit of ${MAX_ELEMENTS} elements`],
    [{ ...ok, dims: [0, 2 ** 29] }, "TENSOR_INVALID", "exceeds the limit"],
    [{ ...ok, dtype: "complex64" }, "TENSOR_INVALID", 'unknown dtype "complex64"'],
    [{ ...ok, dims: [3] }, "INPUT_SIZE_MISMATCH", 'tensor "img": float32 [3] needs 12 bytes, got 8'],
    [{ ...ok, data: ["a", "b"] }, "TENSOR_INVALID", "data must be bytes"],
    [{ dtype: "string", dims: [3], data: ["a", "b"] }, "INPUT_SIZE_MISMATCH", "string [3] needs 3 strings, got 2"],
    [{ dtype: "string", dims: [1], data: new Uint8Array(1) }, "TENSOR_INVALID", "array of strings"],
    [{ dtype: "string", dims: [2], data: ["a", 5] }, "TENSOR_INVALID", "element 1 is not a string"],
    [{ dtype: "string", dims: [1], data: ["a\ud800"] }, "TENSOR_INVALID", "lone surrogate"],
    [{ dtype: "bool", dims: [3], data: new Uint8Array([1, 0, 2]) }, "TENSOR_INVALID", "bool element 2 is 2"],
  ])("rejects %j", (t, code, message) => {
    const e = stunError(() => validateRawTensor(t as RawTensor, "img"));
    expect(e.code).toBe(code);
    expect(e.message).toContain(message);
  });
});

describe("typed arrays", () => {
  it("decodes little-endian bytes at unaligned offsets into fresh aligned arrays", () => {
    const raw: RawTensor = { dtype: "float32", dims: [3], data: atOffset(f32([1.5, -2, 1e30]), 3) };
    const t = toTypedArray(raw) as Tensor<"float32">;
    expect(t.data).toBeInstanceOf(Float32Array);
    expect([...t.data]).toEqual([1.5, -2, Math.fround(1e30)]);
    expect(t.data.byteOffset).toBe(0);
    (raw.data as Uint8Array).fill(0); // the decoded copy does not alias the input
    expect(t.data[0]).toBe(1.5);

    const big = toTypedArray({ dtype: "int64", dims: [2], data: atOffset(i64([-(2n ** 63n), 2n ** 62n + 1n]), 5) });
    expect(big.data).toEqual(new BigInt64Array([-(2n ** 63n), 2n ** 62n + 1n]));
  });

  it("copies a Node Buffer's bytes too (Buffer#slice would alias them)", () => {
    const buf = Buffer.from(f32([4, 5]));
    const t = toTypedArray({ dtype: "float32", dims: [2], data: buf }) as Tensor<"float32">;
    buf.fill(0);
    expect([...t.data]).toEqual([4, 5]);
  });

  it("gives each dtype the array type onnxruntime takes", () => {
    const expected: Record<string, string> = {
      float32: "Float32Array",
      float16: "Uint16Array",
      float64: "Float64Array",
      int8: "Int8Array",
      int16: "Int16Array",
      int32: "Int32Array",
      int64: "BigInt64Array",
      uint8: "Uint8Array",
      uint16: "Uint16Array",
      uint32: "Uint32Array",
      uint64: "BigUint64Array",
      bool: "Uint8Array",
      string: "Array",
    };
    for (const dtype of DTYPES) {
      const raw: RawTensor = dtype === "string" ? { dtype, dims: [1], data: ["x"] } : { dtype, dims: [1], data: new Uint8Array(expectedByteLength(dtype, [1])) };
      expect([dtype, toTypedArray(raw).data.constructor.name]).toEqual([dtype, expected[dtype]]);
    }
  });

  it("TYPED_ARRAY_BY_DTYPE covers every fixed dtype with an element of DTYPE_BYTES bytes", () => {
    const fixed = DTYPES.filter((d) => d !== "string");
    expect(Object.keys(TYPED_ARRAY_BY_DTYPE).sort()).toEqual([...fixed].sort());
    for (const dtype of fixed) expect([dtype, TYPED_ARRAY_BY_DTYPE[dtype].BYTES_PER_ELEMENT]).toEqual([dtype, DTYPE_BYTES[dtype]]);
  });

  it("round-trips raw → typed → raw for every dtype", () => {
    fc.assert(
      fc.property(arbRawTensor(), (raw) => {
        const back = fromTypedArray(toTypedArray(raw));
        expect(back.dtype).toBe(raw.dtype);
        expect(back.dims).toEqual(raw.dims);
        expect(Array.isArray(back.data) ? back.data : [...back.data]).toEqual(Array.isArray(raw.data) ? raw.data : [...raw.data]);
      }),
    );
  });

  it("encodes a typed-array view without copying, honouring its offset", () => {
    const host = new Float32Array([9, 1, 2, 9]);
    const raw = fromTypedArray({ dtype: "float32", dims: [2], data: host.subarray(1, 3) });
    expect([...(raw.data as Uint8Array)]).toEqual([...f32([1, 2])]);
    expect((raw.data as Uint8Array).buffer).toBe(host.buffer);
  });

  it("rejects data of the wrong array type or length", () => {
    expect(stunError(() => fromTypedArray({ dtype: "float32", dims: [1], data: new Float64Array(1) } as never)).message).toContain("float32 data must be a Float32Array, got Float64Array");
    expect(stunError(() => fromTypedArray({ dtype: "int64", dims: [1], data: new Int32Array(2) } as never)).code).toBe("TENSOR_INVALID");
    expect(stunError(() => fromTypedArray({ dtype: "int32", dims: [3], data: new Int32Array(2) })).code).toBe("INPUT_SIZE_MISMATCH");
  });
});

describe("JSON", () => {
  it("round-trips maps through JSON text", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1 }), arbRawTensor(), { maxKeys: 3 }), (map) => {
        const back = tensorMapFromJson(JSON.parse(JSON.stringify(tensorMapToJson(map))));
        expect(Object.keys(back).sort()).toEqual(Object.keys(map).sort());
        for (const [name, t] of Object.entries(map)) {
          const b = back[name]!;
          expect([b.dtype, b.dims]).toEqual([t.dtype, t.dims]);
          expect(Array.isArray(b.data) ? b.data : [...b.data]).toEqual(Array.isArray(t.data) ? t.data : [...t.data]);
        }
      }),
    );
  });

  it("encodes float32 as base64 of little-endian bytes", () => {
    expect(tensorToJson({ dtype: "float32", dims: [1], data: f32([1]) })).toEqual({ dtype: "float32", dims: [1], data: "AACAPw==" });
    expect(tensorFromJson({ dtype: "float32", dims: [1], data: "AACAPw==" }, "x").data).toEqual(f32([1]));
  });

  it("keeps a tensor named __proto__ as an ordinary entry", () => {
    const map = tensorMapFromJson(JSON.parse('{"__proto__": {"dtype": "bool", "dims": [1], "data": "AQ=="}}'));
    expect(Object.keys(map)).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(map)).toBe(Object.prototype);
  });

  it("rejects a map that is not an object", () => {
    for (const bad of [null, [], "x"]) expect(stunError(() => tensorMapFromJson(bad as never)).code).toBe("TENSOR_INVALID");
  });

  it.each([
    [{ dtype: "float32", dims: [1], data: "AACAPw" }, "TENSOR_INVALID", 'tensor "x": data is not valid base64'],
    [{ dtype: "float32", dims: [1], data: "AAC AP8=" }, "TENSOR_INVALID", "not valid base64"],
    [{ dtype: "float32", dims: [1], data: ["1"] }, "TENSOR_INVALID", "float32 data must be a base64 string"],
    [{ dtype: "string", dims: [1], data: "YQ==" }, "TENSOR_INVALID", "array of strings"],
    [{ dtype: "float32", dims: [2], data: "AACAPw==" }, "INPUT_SIZE_MISMATCH", "needs 8 bytes, got 4"],
    [{ dtype: "bool", dims: [1], data: "Ag==" }, "TENSOR_INVALID", "bools must be 0 or 1"],
    [{ dtype: "float32", dims: [-1], data: "" }, "TENSOR_INVALID", "dimension 0 is -1"],
  ])("rejects %j", (json, code, message) => {
    const e = stunError(() => tensorFromJson(json as never, "x"));
    expect([e.code, e.message]).toEqual([code, expect.stringContaining(message)]);
  });
});

describe("validateInputsAgainstSignature", () => {
  const f = (...dims: number[]): RawTensor => ({ dtype: "float32", dims, data: new Uint8Array(4 * elementCount(dims)) });
  const sig: TensorInfo[] = [
    { name: "image", dtype: "float32", shape: ["batch", 3, -1, "side"] },
    { name: "mask", dtype: "float32", shape: ["batch", ""] },
  ];

  it("accepts matching inputs; symbolic, -1 and unnamed dims take any size", () => {
    validateInputsAgainstSignature({ image: f(2, 3, 7, 5), mask: f(2, 9) }, sig);
    validateInputsAgainstSignature({ image: f(1, 3, 1, 1), mask: f(1, 0) }, sig);
  });

  it.each([
    [{ image: f(2, 3, 7, 5), mask: f(2, 9), extra: f(1) }, "INPUT_UNKNOWN", 'input "extra" is not an input of this model (its inputs: "image", "mask")'],
    [{ image: f(2, 3, 7, 5) }, "INPUT_MISSING", 'input "mask" is missing (expected float32 ["batch", ""])'],
    [{ image: { dtype: "int32", dims: [1, 3, 1, 1], data: new Uint8Array(12) }, mask: f(1, 1) }, "INPUT_DTYPE_MISMATCH", 'input "image": expected dtype float32, got int32'],
    [{ image: f(2, 3, 7), mask: f(2, 1) }, "INPUT_SHAPE_MISMATCH", 'input "image": expected shape ["batch", 3, -1, "side"], got [2, 3, 7] (rank 3 instead of 4)'],
    [{ image: f(2, 4, 7, 5), mask: f(2, 1) }, "INPUT_SHAPE_MISMATCH", "dimension 1 is 4, not 3"],
    [{ image: f(2, 3, 7, 5), mask: f(3, 1) }, "INPUT_SHAPE_MISMATCH", 'dimension 0 "batch" is 3, but "batch" was bound to 2 by input "image"'],
    [{ image: { dtype: "float32", dims: [1, 3, 1, 1], data: new Uint8Array(8) }, mask: f(1, 1) }, "INPUT_SIZE_MISMATCH", 'tensor "image"'],
  ])("rejects %#", (inputs, code, message) => {
    const e = stunError(() => validateInputsAgainstSignature(inputs as Record<string, RawTensor>, sig));
    expect(e.code).toBe(code);
    expect(e.message).toContain(message);
  });

  it("binds a symbol repeated within one input", () => {
    const square: TensorInfo[] = [{ name: "m", dtype: "float32", shape: ["n", "n"] }];
    validateInputsAgainstSignature({ m: f(3, 3) }, square);
    expect(stunError(() => validateInputsAgainstSignature({ m: f(3, 4) }, square)).message).toContain('"n" was bound to 3 earlier in this input');
  });
});
