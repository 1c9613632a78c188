import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeBase64 } from "../src/base64";
import { DTYPES } from "../src/dtypes";
import { encodeNpy, parseNpy } from "../src/npy";
import { type RawTensor, type Tensor, toTypedArray } from "../src/tensor";
import { arbRawTensor } from "./arbitraries";

/** Files written by numpy 2.4.6 (np.save / np.lib.format.write_array), base64. */
const NUMPY = {
  // np.array([[1.5, -2, 3.25], [np.inf, -0.0, 1e-3]], dtype=">f4")
  f4_be:
    "k05VTVBZAQB2AHsnZGVzY3InOiAnPmY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAo/wAAAwAAAAEBQAAB/gAAAgAAAADqDEm8=",
  // np.array([2**62, -5, 7], dtype="<i8")
  i8_le:
    "k05VTVBZAQB2AHsnZGVzY3InOiAnPGk4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAAAQPv/////////BwAAAAAAAAA=",
  // np.array([1, 258, 65535], dtype=">u2")
  u2_be: "k05VTVBZAQB2AHsnZGVzY3InOiAnPnUyJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAQEC//8=",
  // np.array([[True, False], [False, True]])
  b1: "k05VTVBZAQB2AHsnZGVzY3InOiAnfGIxJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDIpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoBAAAB",
  // np.array([["a", "héllo"], ["", "🙂x"]])  (<U5)
  U_le: "k05VTVBZAQB2AHsnZGVzY3InOiAnPFU1JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDIpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAphAAAAAAAAAAAAAAAAAAAAAAAAAGgAAADpAAAAbAAAAGwAAABvAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABC9gEAeAAAAAAAAAAAAAAAAAAAAA==",
  // np.array(["ab", "c"], dtype=">U3")
  U_be: "k05VTVBZAQB2AHsnZGVzY3InOiAnPlUzJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAABhAAAAYgAAAAAAAABjAAAAAAAAAAA=",
  // np.asfortranarray(np.arange(6, dtype="<f4").reshape(2, 3))
  fortran:
    "k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBUcnVlLCAnc2hhcGUnOiAoMiwgMyksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAABAQAAAgD8AAIBAAAAAQAAAoEA=",
  // write_array(f, np.arange(4, dtype="<i4"), version=(2, 0))
  v2: "k05VTVBZAgB0AAAAeydkZXNjcic6ICc8aTQnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoNCwpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAQAAAAIAAAADAAAA",
  // write_array(f, np.arange(3, dtype="<u1"), version=(3, 0))
  v3: "k05VTVBZAwB0AAAAeydkZXNjcic6ICd8dTEnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMywpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAQI=",
  // np.array(3.5)
  scalar: "k05VTVBZAQB2AHsnZGVzY3InOiAnPGY4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAAMQA==",
  // np.array([1, 0.1, 65504, -np.inf], dtype="<f2")
  f2: "k05VTVBZAQB2AHsnZGVzY3InOiAnPGYyJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDQsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAPGYu/3sA/A==",
  // np.zeros(2, dtype=[("a", "<i4"), ("b", "<f4")])
  struct:
    "k05VTVBZAQB2AHsnZGVzY3InOiBbKCdhJywgJzxpNCcpLCAoJ2InLCAnPGY0JyldLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMiwpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAAAAAAAAAAAAAAA",
  // np.zeros((0, 3), dtype="<f8")
  empty: "k05VTVBZAQB2AHsnZGVzY3InOiAnPGY4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDAsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAo=",
};
const load = (k: keyof typeof NUMPY) => parseNpy(decodeBase64(NUMPY[k]));
const values = (raw: RawTensor) => {
  const d = toTypedArray(raw).data;
  return Array.isArray(d) ? d : Array.from(d as ArrayLike<number | bigint>);
};

describe("parseNpy on files NumPy wrote", () => {
  it("reads big-endian float32 into little-endian", () => {
    const t = load("f4_be");
    expect([t.dtype, t.dims]).toEqual(["float32", [2, 3]]);
    expect(values(t)).toEqual([1.5, -2, 3.25, Infinity, -0, Math.fround(1e-3)]);
  });

  it("converts big-endian data in a copy, leaving a Buffer input untouched", () => {
    const file = Buffer.from(NUMPY.u2_be, "base64");
    const before = Buffer.from(file);
    expect(values(parseNpy(file))).toEqual([1, 258, 65535]);
    expect(file.equals(before)).toBe(true);
  });

  it.each([
    ["i8_le", "int64", [3], [2n ** 62n, -5n, 7n]],
    ["u2_be", "uint16", [3], [1, 258, 65535]],
    ["b1", "bool", [2, 2], [1, 0, 0, 1]],
    ["U_le", "string", [2, 2], ["a", "héllo", "", "🙂x"]],
    ["U_be", "string", [2], ["ab", "c"]],
    ["v2", "int32", [4], [0, 1, 2, 3]],
    ["v3", "uint8", [3], [0, 1, 2]],
    ["scalar", "float64", [], [3.5]],
    ["f2", "float16", [4], [0x3c00, 0x2e66, 0x7bff, 0xfc00]],
    ["empty", "float64", [0, 3], []],
  ] as const)("reads %s", (file, dtype, dims, data) => {
    const t = load(file);
    expect([t.dtype, t.dims, values(t)]).toEqual([dtype, dims, data]);
  });

  it("rejects Fortran order and structured dtypes with clear messages", () => {
    expect(() => load("fortran")).toThrow("Fortran-order arrays are not supported");
    expect(() => load("struct")).toThrow("structured (record) dtypes are not supported");
  });
});

describe("encodeNpy", () => {
  it("writes what NumPy writes (byte for byte)", () => {
    for (const k of ["i8_le", "b1", "U_le", "scalar", "f2", "empty"] as const) {
      expect([k, Buffer.from(encodeNpy(load(k))).toString("base64")]).toEqual([k, NUMPY[k]]);
    }
  });

  it("round-trips every dtype", () => {
    for (const dtype of DTYPES) {
      fc.assert(
        fc.property(arbRawTensor([dtype]), (raw) => {
          // NumPy strips trailing NULs from unicode elements; keep them out of this property.
          if (Array.isArray(raw.data)) raw = { ...raw, data: raw.data.map((s) => s.replace(/\0+$/, "")) };
          const back = parseNpy(encodeNpy(raw));
          expect([back.dtype, back.dims, values(back)]).toEqual([raw.dtype, raw.dims, values(raw)]);
        }),
        { numRuns: 30 },
      );
    }
  });

  it("pads the header to 64 bytes and ends it with a newline", () => {
    const b = encodeNpy({ dtype: "float32", dims: [1, 2, 3, 4, 5, 6, 7, 8], data: new Uint8Array(4 * 40320) });
    const headerLength = b[8]! | (b[9]! << 8);
    expect((10 + headerLength) % 64).toBe(0);
    expect(b[10 + headerLength - 1]).toBe(0x0a);
    expect((toTypedArray(parseNpy(b)) as Tensor<"float32">).data.length).toBe(40320);
  });
});

describe("parseNpy errors", () => {
  const header = (dict: string, body = new Uint8Array(0)) => {
    const h = `${dict.padEnd(117, " ")}\n`;
    const out = new Uint8Array(10 + h.length + body.length);
    out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, h.length, 0]);
    for (let i = 0; i < h.length; i++) out[10 + i] = h.charCodeAt(i);
    out.set(body, 10 + h.length);
    return out;
  };
  it.each([
    [new Uint8Array([1, 2, 3]), "bad magic"],
    [header("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }"), 'unsupported dtype "<c8"'],
    [header("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"), 'unsupported dtype "|O"'],
    [header("{'descr': '|i4', 'fortran_order': False, 'shape': (1,), }"), "has no byte order"],
    [header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", new Uint8Array(7)), "data is 7 bytes, expected 8"],
    [header("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }"), "dimension 0 is -1"],
    [header("{'descr': '<f4', 'shape': (1,), }", new Uint8Array(4)), "no valid 'fortran_order'"],
    [header("{'descr': '<f4', 'fortran_order': False, 'shape': (1,) "), "malformed header"],
    [header("{'descr': '|b1', 'fortran_order': False, 'shape': (1,), }", new Uint8Array([3])), "bools must be 0 or 1"],
    [header("{'descr': '<U1', 'fortran_order': False, 'shape': (1,), }", new Uint8Array([0, 0xd8, 0, 0])), "invalid code point 0xd800"],
  ])("rejects case %#: %s", (bytes, message) => {
    expect(() => parseNpy(bytes)).toThrow(message);
  });

  it("accepts Python 2 style long dims (3L)", () => {
    const t = parseNpy(header("{'descr': '<u1', 'fortran_order': False, 'shape': (3L,), }", new Uint8Array([4, 5, 6])));
    expect(values(t)).toEqual([4, 5, 6]);
  });
});
