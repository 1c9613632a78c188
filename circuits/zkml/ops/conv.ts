/** Conv (2-D, grouped): constant kernels, so each output is one linear form at exponent 2; no constraint. */
import { type Lin, linAddScaled, linConst } from "../linear";
import { isConst, isDyn } from "../value";
import { type Handler, Unsupported, int, ints, need } from "./handler";
import { windowGeometry } from "./window";

export const conv: Handler = (c, node, ins, name) => {
  const x0 = need(ins[0], "X");
  const w0 = need(ins[1], "W");
  if (!isDyn(x0)) throw new Unsupported("X must be computed from the model's input");
  if (!isConst(w0)) throw new Unsupported("W must be a constant (an initializer)");
  const x = c.toE1(x0, name);
  const [N, C] = x.shape as [number, number];
  if (w0.shape.length !== 4) throw new Unsupported("only 2-D convolutions are supported");
  const [M, Cg, kH, kW] = w0.shape as [number, number, number, number];
  const group = int(node, "group", 1);
  if (Cg * group !== C || M % group !== 0) throw new Unsupported(`W [${w0.shape}] with group ${group} does not match X [${x.shape}]`);
  const g = windowGeometry(node, x.shape, ints(node, "kernel_shape", [kH, kW]), false);
  const Wq = c.constQ(w0.data, 1);
  let Bq: bigint[] | undefined;
  if (ins[2]) {
    if (!isConst(ins[2])) throw new Unsupported("B must be a constant");
    Bq = c.constQ(ins[2].data, 2);
  }
  const Mg = M / group;
  const out: Lin[] = [];
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      const gi = Math.floor(m / Mg);
      for (let oy = 0; oy < g.oH; oy++) {
        for (let ox = 0; ox < g.oW; ox++) {
          const acc = linConst(Bq ? Bq[m]! : 0n);
          for (const [iy, ix, ky, kx] of g.window(oy, ox)) {
            for (let cc = 0; cc < Cg; cc++) {
              const ch = gi * Cg + cc;
              linAddScaled(acc, x.data[((n * C + ch) * g.H + iy) * g.W + ix]!, Wq[((m * Cg + cc) * kH + ky) * kW + kx]!);
            }
          }
          out.push(acc);
        }
      }
    }
  }
  return { kind: "dyn", shape: [N, M, g.oH, g.oW], e: 2, data: out };
};
