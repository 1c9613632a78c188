/**
 * MaxPool (a chain of FixedMax comparisons per window: src/fixed_max.circom) and AveragePool /
 * GlobalAveragePool (a free sum times a constant reciprocal, at exponent 2).
 */
import type { CircuitBuilder } from "../builder";
import { type Lin, linAddScaled, linConst, linScale } from "../linear";
import type { OnnxNode } from "../onnx";
import { type Value, isDyn } from "../value";
import { type Handler, Unsupported, int, ints, need } from "./handler";
import { windowGeometry } from "./window";

export const maxPool: Handler = (c, node, ins, name) => {
  const x0 = need(ins[0], "X");
  if (!isDyn(x0)) throw new Unsupported("X must be computed from the model's input");
  if ((node.output ?? []).filter(Boolean).length > 1) throw new Unsupported("the Indices output is not supported");
  const x = c.toE1(x0, name);
  const g = windowGeometry(node, x.shape, ints(node, "kernel_shape", []), true);
  const [N, C] = x.shape as [number, number];
  const out: Lin[] = [];
  for (let nc = 0; nc < N * C; nc++) {
    for (let oy = 0; oy < g.oH; oy++) {
      for (let ox = 0; ox < g.oW; ox++) {
        const cells = g.window(oy, ox).map(([iy, ix]) => x.data[(nc * g.H + iy) * g.W + ix]!);
        let m = cells[0]!;
        for (let i = 1; i < cells.length; i++) m = c.max(cells[i]!, m, name);
        out.push(m);
      }
    }
  }
  return { kind: "dyn", shape: [N, C, g.oH, g.oW], e: 1, data: out };
};

function averagePoolOf(c: CircuitBuilder, node: OnnxNode, x0: Value, kernel: number[], includePad: boolean, name: string): Value {
  if (!isDyn(x0)) throw new Unsupported("X must be computed from the model's input");
  const x = c.toE1(x0, name);
  const g = windowGeometry(node, x.shape, kernel, true);
  const [N, C] = x.shape as [number, number];
  const out: Lin[] = [];
  const recips: number[] = [];
  const sums: Lin[] = [];
  for (let nc = 0; nc < N * C; nc++) {
    for (let oy = 0; oy < g.oH; oy++) {
      for (let ox = 0; ox < g.oW; ox++) {
        const cells = g.window(oy, ox);
        const acc = linConst(0n);
        for (const [iy, ix] of cells) linAddScaled(acc, x.data[(nc * g.H + iy) * g.W + ix]!, 1n);
        sums.push(acc);
        recips.push(1 / (includePad ? g.kH * g.kW : cells.length));
      }
    }
  }
  const q = c.constQ(recips, 1);
  sums.forEach((s, i) => out.push(linScale(s, q[i]!)));
  return { kind: "dyn", shape: [N, C, g.oH, g.oW], e: 2, data: out };
}

export const averagePool: Handler = (c, node, ins, name) => averagePoolOf(c, node, need(ins[0], "X"), ints(node, "kernel_shape", []), int(node, "count_include_pad", 0) === 1, name);

export const globalAveragePool: Handler = (c, node, ins, name) => {
  const x = need(ins[0], "X");
  if (x.shape.length !== 4) throw new Unsupported(`only 2-D (NCHW) inputs are supported, got rank ${x.shape.length}`);
  return averagePoolOf(c, { ...node, attribute: [] }, x, [x.shape[2]!, x.shape[3]!], false, name);
};
