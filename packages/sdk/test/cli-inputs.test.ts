import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DTYPES, encodeNpy, parseNpy, type Dtype } from "@stun/shared";
import { jsonToTensorInit, loadInput, parseInputSpec } from "../src/cli/inputs";
import { outputFileNames, writeOutputs } from "../src/cli/tasks";
import { UsageError } from "../src/cli/context";
import { StunApiError, toRawTensor, toTensor, type Tensor } from "../src/index";
import { tempDir } from "./support/cli";

let dir: { path: string; remove(): Promise<void> };
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(async () => {
  await dir.remove();
});
const at = (p: string) => join(dir.path, p);

/** Loads `NAME=SPEC` and converts it as `tasks submit` does. */
async function load(spec: string, fallbackDtype?: Dtype): Promise<Tensor> {
  const s = parseInputSpec(spec);
  return toTensor(toRawTensor(await loadInput(s, at), fallbackDtype ? { fallbackDtype, name: s.name } : { name: s.name }));
}

describe("parseInputSpec", () => {
  it("splits at the first '=' and marks inline JSON", () => {
    expect(parseInputSpec("x=a.npy")).toEqual({ name: "x", value: "a.npy", inline: false });
    expect(parseInputSpec("x=dir/a=b.json")).toEqual({ name: "x", value: "dir/a=b.json", inline: false });
    expect(parseInputSpec("input:0=@[1,2]")).toEqual({ name: "input:0", value: "[1,2]", inline: true });
  });
  it("rejects specs without a name or a value", () => {
    for (const s of ["x", "=a.npy", "x="]) expect(() => parseInputSpec(s)).toThrow(UsageError);
  });
});

describe(".npy inputs", () => {
  const samples: Record<Dtype, Tensor> = {
    float32: { dtype: "float32", dims: [2, 2], data: new Float32Array([1, -2, 3.5, 0]) },
    float16: { dtype: "float16", dims: [2], data: new Uint16Array([0x3c00, 0xc000]) },
    float64: { dtype: "float64", dims: [1, 2], data: new Float64Array([Math.E, -1]) },
    int8: { dtype: "int8", dims: [2], data: new Int8Array([-5, 5]) },
    int16: { dtype: "int16", dims: [2], data: new Int16Array([-500, 500]) },
    int32: { dtype: "int32", dims: [2], data: new Int32Array([-5e6, 5e6]) },
    int64: { dtype: "int64", dims: [2], data: new BigInt64Array([-(2n ** 62n), 7n]) },
    uint8: { dtype: "uint8", dims: [3], data: new Uint8Array([0, 128, 255]) },
    uint16: { dtype: "uint16", dims: [2], data: new Uint16Array([1, 65535]) },
    uint32: { dtype: "uint32", dims: [2], data: new Uint32Array([1, 4e9]) },
    uint64: { dtype: "uint64", dims: [1], data: new BigUint64Array([2n ** 63n]) },
    bool: { dtype: "bool", dims: [2, 1], data: new Uint8Array([1, 0]) },
    string: { dtype: "string", dims: [2], data: ["ab", "ç"] },
  };
  for (const dtype of DTYPES) {
    it(`${dtype}`, async () => {
      const tensor = samples[dtype];
      await writeFile(at(`${dtype}.npy`), encodeNpy(toRawTensor(tensor)));
      expect(await load(`x=${dtype}.npy`)).toEqual(tensor);
    });
  }

  it("recognises a .npy file without the extension by its magic", async () => {
    await writeFile(at("array.bin"), encodeNpy(toRawTensor(new Int32Array([3, 4]))));
    expect(await load("x=array.bin")).toEqual({ dtype: "int32", dims: [2], data: new Int32Array([3, 4]) });
  });

  it("a corrupt .npy is TENSOR_INVALID naming the input and the file", async () => {
    await writeFile(at("corrupt.npy"), new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 5]));
    await expect(load("x=corrupt.npy")).rejects.toMatchObject({ code: "TENSOR_INVALID", message: expect.stringMatching(/^input "x" \(corrupt\.npy\): /) });
  });
});

describe("JSON inputs (file and inline)", () => {
  it('{"dtype","dims","data"} with flat data', async () => {
    await writeFile(at("t.json"), JSON.stringify({ dtype: "int32", dims: [2, 2], data: [1, 2, 3, 4] }));
    expect(await load("x=t.json")).toEqual({ dtype: "int32", dims: [2, 2], data: new Int32Array([1, 2, 3, 4]) });
  });

  it("a nested array takes its dims from the nesting and its dtype from --dtype / the model", async () => {
    await writeFile(at("n.json"), "[[1, 2], [3, 4], [5, 6]]");
    expect(await load("x=n.json")).toEqual({ dtype: "float32", dims: [3, 2], data: new Float32Array([1, 2, 3, 4, 5, 6]) });
    expect(await load("x=n.json", "int64")).toEqual({ dtype: "int64", dims: [3, 2], data: new BigInt64Array([1n, 2n, 3n, 4n, 5n, 6n]) });
    expect(await load("x=@[[1, 2]]", "float64")).toEqual({ dtype: "float64", dims: [1, 2], data: new Float64Array([1, 2]) });
  });

  it("the file's own dtype wins over --dtype", async () => {
    expect(await load('x=@{"dtype":"uint8","data":[[1],[2]]}', "float32")).toEqual({ dtype: "uint8", dims: [2, 1], data: new Uint8Array([1, 2]) });
  });

  it("a single value is a scalar (dims [])", async () => {
    expect(await load("x=@3.5")).toEqual({ dtype: "float32", dims: [], data: new Float32Array([3.5]) });
    expect(await load('x=@"hello"')).toEqual({ dtype: "string", dims: [], data: ["hello"] });
    expect(await load("x=@true")).toEqual({ dtype: "bool", dims: [], data: new Uint8Array([1]) });
  });

  it("64-bit integers keep their precision as decimal strings", async () => {
    const t = await load('x=@{"dtype":"int64","dims":[2],"data":["9007199254740993","-9223372036854775808"]}');
    expect(t.data).toEqual(new BigInt64Array([9007199254740993n, -(2n ** 63n)]));
  });

  it("strings and booleans", async () => {
    expect(await load('x=@["a","b"]')).toEqual({ dtype: "string", dims: [2], data: ["a", "b"] });
    expect(await load("x=@[true,false]")).toEqual({ dtype: "bool", dims: [2], data: new Uint8Array([1, 0]) });
  });

  it("base64 data with dtype and dims, as on the wire", async () => {
    expect(await load('x=@{"dtype":"float32","dims":[1],"data":"AACAPw=="}')).toEqual({ dtype: "float32", dims: [1], data: new Float32Array([1]) });
  });

  it("mistakes are TENSOR_INVALID naming the input and where it came from", async () => {
    const bad: [string, RegExp][] = [
      ['{"dtype":"float32","shape":[1],"data":[1]}', /unknown key "shape"/],
      ['{"dtype":"float32","dims":[1]}', /missing "data"/],
      ['{"dtype":"f32","data":[1]}', /unknown dtype "f32"/],
      ['{"dims":"1","data":[1]}', /"dims" must be an array/],
      ['{"data":5}', /"data" must be an array/],
      ["null", /expected an array/],
    ];
    for (const [json, message] of bad) {
      const err = await load(`x=@${json}`).catch((e: unknown) => e);
      expect(err, json).toBeInstanceOf(StunApiError);
      expect((err as StunApiError).code).toBe("TENSOR_INVALID");
      expect((err as StunApiError).message).toMatch(/^input "x" \(inline JSON\): /);
      expect((err as StunApiError).message).toMatch(message);
    }
    await writeFile(at("text.txt"), "not json");
    await expect(load("x=text.txt")).rejects.toMatchObject({ code: "TENSOR_INVALID", message: expect.stringContaining("not a .npy file nor valid JSON") });
    expect(() => jsonToTensorInit({ data: [1], extra: 1 }, "y", "f.json")).toThrow('input "y" (f.json): unknown key "extra"');
  });
});

describe("writing outputs as .npy", () => {
  it("writes DIR/NAME.npy that parse back to the same tensors", async () => {
    const outputs: Record<string, Tensor> = {
      y: { dtype: "float32", dims: [1, 3], data: new Float32Array([0.1, 0.2, 0.7]) },
      ids: { dtype: "int64", dims: [2], data: new BigInt64Array([5n, -1n]) },
      "scores/raw": { dtype: "float16", dims: [1], data: new Uint16Array([0x3c00]) },
      labels: { dtype: "string", dims: [1], data: ["cat"] },
    };
    const written = await writeOutputs(at("out/nested"), outputs);
    expect(Object.keys(written)).toEqual(Object.keys(outputs));
    expect(written["scores/raw"]).toBe(at("out/nested/scores_raw.npy"));
    for (const [name, path] of Object.entries(written)) {
      expect(toTensor(parseNpy(new Uint8Array(await readFile(path))))).toEqual(outputs[name]);
    }
  });

  it("file names are safe and distinct", () => {
    expect([...outputFileNames(["y", "a/b", "a:b", "..", ".hidden", "", "Y"]).values()]).toEqual(["y.npy", "a_b.npy", "a_b_2.npy", "_.npy", "_hidden.npy", "__2.npy", "Y_2.npy"]);
  });
});
