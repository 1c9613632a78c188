import { describe, expect, it } from "vitest";
import { DTYPES, SubmitTaskSchema, encodeBase64, float16ToFloat32, tensorToJson, type Dtype } from "@stun/shared";
import { StunApiError, buildSubmitBody, decodeTensor, flattenNested, toRawTensor, toTensor, toTensorJson, type TensorInput } from "../src/index";

/** Converts an input all the way to the wire and back, as a submit and a result would. */
const roundTrip = (input: TensorInput, fallbackDtype?: Dtype) => decodeTensor(toTensorJson(input, fallbackDtype ? { fallbackDtype } : {}));

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(StunApiError);
    expect((e as StunApiError).status).toBe(0);
    return (e as StunApiError).code;
  }
  throw new Error("expected a StunApiError");
};

describe("every dtype from a plain array", () => {
  const samples: Record<Dtype, { values: unknown[]; expected: ArrayLike<unknown> }> = {
    float32: { values: [1.5, -2, 0.25, 3], expected: new Float32Array([1.5, -2, 0.25, 3]) },
    float16: { values: [1.5, -2, 0.25, 65504], expected: [1.5, -2, 0.25, 65504] },
    float64: { values: [Math.PI, -1e300, 0, 1], expected: new Float64Array([Math.PI, -1e300, 0, 1]) },
    int8: { values: [-128, 127, 0, 1], expected: new Int8Array([-128, 127, 0, 1]) },
    int16: { values: [-32768, 32767, 0, 1], expected: new Int16Array([-32768, 32767, 0, 1]) },
    int32: { values: [-2147483648, 2147483647, 0, 1], expected: new Int32Array([-2147483648, 2147483647, 0, 1]) },
    int64: { values: [-(2n ** 63n), "9223372036854775807", 42, 0n], expected: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n, 42n, 0n]) },
    uint8: { values: [0, 255, 7, 1], expected: new Uint8Array([0, 255, 7, 1]) },
    uint16: { values: [0, 65535, 7, 1], expected: new Uint16Array([0, 65535, 7, 1]) },
    uint32: { values: [0, 4294967295, 7, 1], expected: new Uint32Array([0, 4294967295, 7, 1]) },
    uint64: { values: [0, 2n ** 64n - 1n, "18446744073709551615", 5], expected: new BigUint64Array([0n, 2n ** 64n - 1n, 2n ** 64n - 1n, 5n]) },
    bool: { values: [true, false, 1, 0], expected: new Uint8Array([1, 0, 1, 0]) },
    string: { values: ["a", "", "héllo", "日本"], expected: ["a", "", "héllo", "日本"] },
  };

  it("covers every dtype Stun knows", () => {
    expect(Object.keys(samples).sort()).toEqual([...DTYPES].sort());
  });

  for (const dtype of DTYPES) {
    it(`${dtype}: values → wire → typed data`, () => {
      const { values, expected } = samples[dtype];
      const t = roundTrip({ dtype, dims: [2, 2], data: values as never });
      expect(t.dtype).toBe(dtype);
      expect(t.dims).toEqual([2, 2]);
      if (dtype === "float16") {
        expect(t.data).toBeInstanceOf(Uint16Array);
        expect(Array.from(t.data as Uint16Array, float16ToFloat32)).toEqual(expected);
      } else {
        expect(t.data).toEqual(expected);
      }
    });
  }
});

describe("typed arrays", () => {
  const arrays: [Dtype, ArrayLike<number | bigint> & object][] = [
    ["float32", new Float32Array([1, 2.5])],
    ["float64", new Float64Array([1, 2.5])],
    ["int8", new Int8Array([-1, 2])],
    ["int16", new Int16Array([-1, 2])],
    ["int32", new Int32Array([-1, 2])],
    ["int64", new BigInt64Array([-1n, 2n])],
    ["uint8", new Uint8Array([1, 2])],
    ["uint16", new Uint16Array([1, 2])],
    ["uint32", new Uint32Array([1, 2])],
    ["uint64", new BigUint64Array([1n, 2n])],
  ];
  for (const [dtype, array] of arrays) {
    it(`${array.constructor.name} alone means ${dtype}, dims [length]`, () => {
      const t = roundTrip(array as TensorInput);
      expect(t).toEqual({ dtype, dims: [2], data: array });
    });
  }

  it("takes dims to reshape", () => {
    const t = roundTrip({ dims: [1, 2, 2], data: new Float32Array([1, 2, 3, 4]) });
    expect(t.dims).toEqual([1, 2, 2]);
  });

  it("converts a typed array to another dtype, checking every value", () => {
    expect(roundTrip({ dtype: "int64", data: new Int32Array([-5, 7]) }).data).toEqual(new BigInt64Array([-5n, 7n]));
    expect(roundTrip({ dtype: "float32", data: new Float64Array([0.5]) }).data).toEqual(new Float32Array([0.5]));
    expect(codeOf(() => toRawTensor({ dtype: "int8", data: new Int32Array([300]) }))).toBe("TENSOR_INVALID");
    expect(codeOf(() => toRawTensor({ dtype: "int32", data: new Float32Array([1.5]) }))).toBe("TENSOR_INVALID");
  });

  it("float16: a Uint16Array is raw bit patterns, a Float32Array is converted", () => {
    const bits = new Uint16Array([0x3c00, 0xc000]); // 1, -2
    expect(roundTrip({ dtype: "float16", data: bits }).data).toEqual(bits);
    expect(roundTrip({ dtype: "float16", data: new Float32Array([1, -2]) }).data).toEqual(bits);
  });

  it("bool from a Uint8Array of 0/1 only", () => {
    expect(roundTrip({ dtype: "bool", data: new Uint8Array([1, 0]) }).data).toEqual(new Uint8Array([1, 0]));
    expect(codeOf(() => toRawTensor({ dtype: "bool", data: new Uint8Array([2]) }))).toBe("TENSOR_INVALID");
  });

  it("a Uint8Array with a wider dtype is the raw little-endian bytes", () => {
    const bytes = new Uint8Array(new Float32Array([1, 2]).buffer);
    const raw = toRawTensor({ dtype: "float32", data: bytes });
    expect(raw).toEqual({ dtype: "float32", dims: [2], data: bytes });
    expect(toTensor(raw).data).toEqual(new Float32Array([1, 2]));
    expect(codeOf(() => toRawTensor({ dtype: "float32", data: new Uint8Array(6) }))).toBe("TENSOR_INVALID");
    expect(codeOf(() => toRawTensor({ dtype: "float32", dims: [3], data: new Uint8Array(8) }))).toBe("INPUT_SIZE_MISMATCH");
  });

  it("honours subarray views (offset into a larger buffer)", () => {
    const big = new Float32Array([9, 1, 2, 9]);
    expect(roundTrip(big.subarray(1, 3)).data).toEqual(new Float32Array([1, 2]));
  });

  it("a RawTensor passes through unchanged", () => {
    const raw = toRawTensor(new Int16Array([1, -1]));
    expect(toRawTensor(raw)).toEqual(raw);
  });
});

describe("JS arrays", () => {
  it("nested arrays give the dims, row-major", () => {
    const t = roundTrip([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(t).toEqual({ dtype: "float32", dims: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) });
    expect(
      flattenNested([
        [[1], [2]],
        [[3], [4]],
      ]),
    ).toEqual({ values: [1, 2, 3, 4], shape: [2, 2, 1] });
  });

  it("rejects ragged arrays", () => {
    expect(codeOf(() => toRawTensor([[1, 2], [3]]))).toBe("TENSOR_INVALID");
    expect(codeOf(() => toRawTensor([[1, 2], 3] as never))).toBe("TENSOR_INVALID");
    expect(codeOf(() => toRawTensor([1, [2]] as never))).toBe("TENSOR_INVALID");
  });

  it("defaults the dtype by the values: numbers float32, bigints int64, booleans bool, strings string", () => {
    expect(roundTrip([1, 2]).dtype).toBe("float32");
    expect(roundTrip([1n, 2n]).data).toEqual(new BigInt64Array([1n, 2n]));
    expect(roundTrip([true, false]).data).toEqual(new Uint8Array([1, 0]));
    expect(roundTrip(["a", "b"])).toEqual({ dtype: "string", dims: [2], data: ["a", "b"] });
  });

  it("uses the fallback dtype (e.g. the model's) for arrays that do not say", () => {
    expect(roundTrip([1, 2], "int64").data).toEqual(new BigInt64Array([1n, 2n]));
    // An explicit dtype wins over the fallback.
    expect(roundTrip({ dtype: "int32", data: [1, 2] }, "int64").dtype).toBe("int32");
  });

  it("reshapes a flat array by dims; a nested array must agree with them", () => {
    expect(roundTrip({ dims: [2, 2], data: [1, 2, 3, 4] }).dims).toEqual([2, 2]);
    expect(roundTrip({ dims: [], data: [7] })).toEqual({ dtype: "float32", dims: [], data: new Float32Array([7]) });
    expect(
      codeOf(() =>
        toRawTensor({
          dims: [1, 4],
          data: [
            [1, 2],
            [3, 4],
          ],
        }),
      ),
    ).toBe("TENSOR_INVALID");
    expect(codeOf(() => toRawTensor({ dims: [3], data: [1, 2] }))).toBe("INPUT_SIZE_MISMATCH");
  });

  it("an empty tensor", () => {
    expect(roundTrip({ dtype: "float32", dims: [0, 3], data: [] })).toEqual({ dtype: "float32", dims: [0, 3], data: new Float32Array(0) });
  });

  it("rejects values that do not fit the dtype", () => {
    const bad: [Dtype, unknown][] = [
      ["int8", 128],
      ["uint8", -1],
      ["int32", 1.5],
      ["uint32", 2 ** 32],
      ["int64", 2 ** 60], // beyond 2^53 as a number: precision already lost
      ["int64", 2n ** 63n],
      ["uint64", -1n],
      ["int64", "12x"],
      ["float32", "1.5"],
      ["bool", 2],
      ["bool", "true"],
      ["string", 5],
      ["float64", null],
    ];
    for (const [dtype, v] of bad)
      expect(
        codeOf(() => toRawTensor({ dtype, data: [v] as never })),
        `${dtype} ${String(v)}`,
      ).toBe("TENSOR_INVALID");
  });

  it("names the tensor and the element in errors", () => {
    try {
      toRawTensor({ dtype: "int8", data: [1, 999] }, { name: "x" });
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toMatch(/^tensor "x": element 1 \(999\)/);
    }
  });

  it("rejects an unknown dtype, bad dims and too high a rank", () => {
    expect(codeOf(() => toRawTensor({ dtype: "float8" as Dtype, data: [1] }))).toBe("TENSOR_INVALID");
    expect(codeOf(() => toRawTensor({ dims: [-1], data: [1] }))).toBe("TENSOR_INVALID");
    expect(codeOf(() => toRawTensor({ dims: [1.5], data: [1] }))).toBe("TENSOR_INVALID");
    expect(codeOf(() => toRawTensor([[[[[[[[[1]]]]]]]]]))).toBe("TENSOR_INVALID");
  });
});

describe("base64 wire data", () => {
  it("passes through with dtype and dims", () => {
    const data = encodeBase64(new Uint8Array(new Int32Array([5, -5]).buffer));
    expect(toTensorJson({ dtype: "int32", dims: [2], data })).toEqual({ dtype: "int32", dims: [2], data });
  });
  it("needs dtype and dims, valid base64 and the right length", () => {
    expect(codeOf(() => toRawTensor({ data: "AAAA" }))).toBe("TENSOR_INVALID");
    expect(codeOf(() => toRawTensor({ dtype: "int32", dims: [1], data: "!!!!" }))).toBe("TENSOR_INVALID");
    expect(codeOf(() => toRawTensor({ dtype: "int32", dims: [2], data: "AAAAAA==" }))).toBe("INPUT_SIZE_MISMATCH");
  });
});

describe("buildSubmitBody", () => {
  it("encodes every input and normalizes amounts and verification", () => {
    const body = buildSubmitBody({
      modelId: "m1",
      inputs: { x: new Float32Array([1, 2]), ids: { dims: [1, 2], data: [3, 4] }, words: ["a"] },
      dtypes: { ids: "int64" },
      verification: { mode: "redundant", replicas: 3 },
      maxPrice: 1000n,
      deadlineSeconds: 30,
      priority: 2,
    });
    expect(body.inputs!.x).toEqual(tensorToJson(toRawTensor(new Float32Array([1, 2]))));
    expect(body.inputs!.ids).toMatchObject({ dtype: "int64", dims: [1, 2] });
    expect(decodeTensor(body.inputs!.ids!).data).toEqual(new BigInt64Array([3n, 4n]));
    expect(body.inputs!.words).toEqual({ dtype: "string", dims: [1], data: ["a"] });
    expect(body).toMatchObject({ modelId: "m1", verification: { mode: "redundant", replicas: 3 }, maxPrice: "1000", deadlineSeconds: 30, priority: 2 });
  });

  it("names an on-chain escrow as the submit schema carries it, and leaves it out otherwise", () => {
    const escrow = `0x${"ab".repeat(32)}` as const;
    const body = buildSubmitBody({ modelId: "m", inputs: {}, escrow });
    expect(body.escrow).toEqual({ taskId: escrow });
    expect(SubmitTaskSchema.safeParse(body).success).toBe(true);
    expect("escrow" in buildSubmitBody({ modelId: "m", inputs: {} })).toBe(false);
  });

  it("defaults the verification mode to auto when only replicas or argmax are given", () => {
    expect(buildSubmitBody({ modelId: "m", inputs: {}, verification: { argmax: true } }).verification).toEqual({ mode: "auto", argmax: true });
  });

  it("names the input in conversion errors", () => {
    expect(() => buildSubmitBody({ modelId: "m", inputs: { img: { dtype: "uint8", data: [256] } } })).toThrow(/tensor "img"/);
  });

  it("rejects bad amounts", () => {
    for (const maxPrice of [-1, 1.5, "12abc", "-3", 2 ** 60]) {
      expect(() => buildSubmitBody({ modelId: "m", inputs: {}, maxPrice })).toThrow(StunApiError);
    }
  });
});
