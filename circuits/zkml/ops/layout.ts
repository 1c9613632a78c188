/**
 * Operators that only move elements (Identity, Dropout at inference, Flatten, Reshape, Squeeze,
 * Unsqueeze, Transpose, Concat): no constraint, the linear forms are rearranged.
 */
import { type Lin, linConst } from "../linear";
import { permute, prod } from "../shapes";
import { type Value, isConst, isDyn } from "../value";
import { type Handler, Unsupported, constInts, int, ints, need } from "./handler";

export const passThrough: Handler = (_c, _node, ins) => need(ins[0], "input");

function reshapeTo(v: Value, shape: number[]): Value {
  if (prod(shape) !== prod(v.shape)) throw new Unsupported(`cannot reshape [${v.shape}] to [${shape}]`);
  return { ...v, shape } as Value;
}

export const flatten: Handler = (_c, node, ins) => {
  const x = need(ins[0], "input");
  let axis = int(node, "axis", 1);
  if (axis < 0) axis += x.shape.length;
  return reshapeTo(x, [prod(x.shape.slice(0, axis)), prod(x.shape.slice(axis))]);
};

export const reshape: Handler = (_c, node, ins) => {
  const x = need(ins[0], "input");
  const target = constInts(ins[1], "Reshape's shape");
  const allowZero = int(node, "allowzero", 0) === 1;
  const shape = target.map((d, i) => (d === 0 && !allowZero ? x.shape[i]! : d));
  const known = prod(shape.filter((d) => d !== -1));
  return reshapeTo(
    x,
    shape.map((d) => (d === -1 ? prod(x.shape) / known : d)),
  );
};

export const squeeze: Handler = (_c, node, ins) => {
  const x = need(ins[0], "input");
  const axes = (ins[1] ? constInts(ins[1], "axes") : ints(node, "axes", [])).map((a) => (a < 0 ? a + x.shape.length : a));
  return reshapeTo(
    x,
    x.shape.filter((d, i) => (axes.length === 0 ? d !== 1 : !axes.includes(i))),
  );
};

export const unsqueeze: Handler = (_c, node, ins) => {
  const x = need(ins[0], "input");
  const raw = ins[1] ? constInts(ins[1], "axes") : ints(node, "axes", []);
  const rank = x.shape.length + raw.length;
  const axes = raw.map((a) => (a < 0 ? a + rank : a)).sort((a, b) => a - b);
  const shape = [...x.shape];
  for (const a of axes) shape.splice(a, 0, 1);
  return reshapeTo(x, shape);
};

export const transpose: Handler = (_c, node, ins) => {
  const x = need(ins[0], "input");
  const perm = ints(
    node,
    "perm",
    x.shape.map((_, i) => x.shape.length - 1 - i),
  );
  if (isConst(x)) {
    const r = permute(Array.from(x.data), x.shape, perm);
    return { kind: "const", shape: r.shape, data: Float64Array.from(r.data) };
  }
  const r = permute(x.data, x.shape, perm);
  return { kind: "dyn", shape: r.shape, e: x.e, data: r.data };
};

/** Concatenation; when some inputs are computed, constants join at the computed ones' highest scale. */
export const concat: Handler = (c, node, ins) => {
  const xs = ins.map((v, i) => need(v, `input ${i}`));
  let axis = int(node, "axis", 0);
  const rank = xs[0]!.shape.length;
  if (axis < 0) axis += rank;
  const outer = prod(xs[0]!.shape.slice(0, axis));
  const shape = [...xs[0]!.shape];
  shape[axis] = xs.reduce((s, v) => s + v.shape[axis]!, 0);
  if (xs.every(isConst)) {
    const data: number[] = [];
    for (let o = 0; o < outer; o++)
      for (const v of xs) {
        const inner = prod(v.shape.slice(axis));
        data.push(...v.data.subarray(o * inner, (o + 1) * inner));
      }
    return { kind: "const", shape, data: Float64Array.from(data) };
  }
  const e = Math.max(...xs.map((v) => (isDyn(v) ? v.e : 1)));
  const parts = xs.map((v) => {
    if (isDyn(v)) return v.data.map((l) => c.lift(l, v.e, e));
    return c.constQ(v.data, e).map(linConst);
  });
  const data: Lin[] = [];
  for (let o = 0; o < outer; o++) {
    xs.forEach((v, j) => {
      const inner = prod(v.shape.slice(axis));
      data.push(...parts[j]!.slice(o * inner, (o + 1) * inner));
    });
  }
  return { kind: "dyn", shape, e, data };
};
