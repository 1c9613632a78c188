/** BatchNormalization (inference): folded into one constant scale and shift per channel, at exponent 2. */
import { linScale } from "../linear";
import { prod } from "../shapes";
import { type ConstValue, isConst, isDyn } from "../value";
import { type Handler, Unsupported, float, need } from "./handler";

export const batchNormalization: Handler = (c, node, ins, name) => {
  const x0 = need(ins[0], "X");
  if (!isDyn(x0)) throw new Unsupported("X must be computed from the model's input");
  if ((node.output ?? []).filter(Boolean).length > 1) throw new Unsupported("training mode (extra outputs) is not supported");
  const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => ins[i]);
  if (![scale, bias, mean, variance].every(isConst)) throw new Unsupported("scale, B, mean and var must be constants");
  const eps = float(node, "epsilon", 1e-5);
  const C = x0.shape[1]!;
  const a = Array.from({ length: C }, (_, ch) => (scale as ConstValue).data[ch]! / Math.sqrt((variance as ConstValue).data[ch]! + eps));
  const b = Array.from({ length: C }, (_, ch) => (bias as ConstValue).data[ch]! - (mean as ConstValue).data[ch]! * a[ch]!);
  const x = c.toE1(x0, name);
  const aq = c.constQ(a, 1);
  const bq = c.constQ(b, 2);
  const inner = prod(x.shape.slice(2));
  const data = x.data.map((l, i) => {
    const ch = Math.floor(i / inner) % C;
    const out = linScale(l, aq[ch]!);
    out.c += bq[ch]!;
    return out;
  });
  return { kind: "dyn", shape: x.shape, e: 2, data };
};
