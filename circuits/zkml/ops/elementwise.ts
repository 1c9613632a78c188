/**
 * Add, Sub and Mul with numpy broadcasting. Two constants fold; a computed tensor meets a constant
 * or another computed tensor linearly (free); two computed tensors cannot be multiplied (that would
 * need a constraint per element and a product's scale the planner does not track).
 */
import type { CircuitBuilder } from "../builder";
import { type Lin, linAdd, linScale } from "../linear";
import { broadcastIndex, broadcastShape, prod } from "../shapes";
import { type ConstValue, type DynValue, type Value, isConst, isDyn } from "../value";
import { type Handler, Unsupported, need } from "./handler";

function elementwise(c: CircuitBuilder, op: "Add" | "Sub" | "Mul", a: Value, b: Value, node: string): Value {
  const shape = broadcastShape(a.shape, b.shape);
  if (!shape) throw new Unsupported(`shapes [${a.shape}] and [${b.shape}] do not broadcast`);
  const ia = broadcastIndex(a.shape, shape);
  const ib = broadcastIndex(b.shape, shape);
  const n = prod(shape);
  if (isConst(a) && isConst(b)) {
    const data = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const x = a.data[ia[i]!]!;
      const y = b.data[ib[i]!]!;
      data[i] = op === "Add" ? x + y : op === "Sub" ? x - y : x * y;
    }
    return { kind: "const", shape, data };
  }
  if (op === "Mul") {
    if (isDyn(a) && isDyn(b)) throw new Unsupported("Mul of two computed tensors is not supported (only by a constant)");
    const [d0, k] = isDyn(a) ? [a, b as ConstValue] : [b as DynValue, a as ConstValue];
    const [id, ik] = isDyn(a) ? [ia, ib] : [ib, ia];
    const d = c.toE1(d0, node);
    const q = c.constQ(k.data, 1);
    const data = new Array<Lin>(n);
    for (let i = 0; i < n; i++) data[i] = linScale(d.data[id[i]!]!, q[ik[i]!]!);
    return { kind: "dyn", shape, e: 2, data };
  }
  const sign = op === "Sub" ? -1n : 1n;
  if (isDyn(a) && isDyn(b)) {
    const e = Math.max(a.e, b.e);
    const data = new Array<Lin>(n);
    for (let i = 0; i < n; i++) data[i] = linAdd(c.lift(a.data[ia[i]!]!, a.e, e), c.lift(b.data[ib[i]!]!, b.e, e), sign);
    return { kind: "dyn", shape, e, data };
  }
  // One side constant: quantize it at the other's scale.
  const d = (isDyn(a) ? a : b) as DynValue;
  const k = (isDyn(a) ? b : a) as ConstValue;
  const q = c.constQ(k.data, d.e);
  const data = new Array<Lin>(n);
  for (let i = 0; i < n; i++) {
    const dl = d.data[(isDyn(a) ? ia : ib)[i]!]!;
    const kv = q[(isDyn(a) ? ib : ia)[i]!]!;
    // a − b: when a is the constant, negate the dynamic side.
    const out = isDyn(a) ? linScale(dl, 1n) : linScale(dl, sign);
    out.c += isDyn(a) ? sign * kv : kv;
    data[i] = out;
  }
  return { kind: "dyn", shape, e: d.e, data };
}

export const add: Handler = (c, _node, ins, name) => elementwise(c, "Add", need(ins[0], "A"), need(ins[1], "B"), name);
export const sub: Handler = (c, _node, ins, name) => elementwise(c, "Sub", need(ins[0], "A"), need(ins[1], "B"), name);
export const mul: Handler = (c, _node, ins, name) => elementwise(c, "Mul", need(ins[0], "A"), need(ins[1], "B"), name);
