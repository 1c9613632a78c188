/** Constant: a value folded at compile time (tensor, float(s) or int(s) attributes). */
import { type ConstTensor, attribute } from "../onnx";
import { type Handler, Unsupported } from "./handler";

export const constant: Handler = (_c, node) => {
  const t = attribute(node, "value");
  if (t && typeof t === "object" && !Array.isArray(t)) return { kind: "const", shape: (t as ConstTensor).dims, data: (t as ConstTensor).data };
  const f = attribute(node, "value_float");
  if (typeof f === "number") return { kind: "const", shape: [], data: Float64Array.of(f) };
  const fs = attribute(node, "value_floats");
  if (Array.isArray(fs)) return { kind: "const", shape: [fs.length], data: Float64Array.from(fs) };
  const i = attribute(node, "value_int");
  if (typeof i === "number") return { kind: "const", shape: [], data: Float64Array.of(i) };
  const is = attribute(node, "value_ints");
  if (Array.isArray(is)) return { kind: "const", shape: [is.length], data: Float64Array.from(is) };
  throw new Unsupported("only tensor, float(s) and int(s) constants are supported");
};
