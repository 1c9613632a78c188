/** Relu: folded on constants; on computed values it shares the rescale's bit decomposition (src/fixed_relu.circom). */
import { isConst } from "../value";
import { type Handler, need } from "./handler";

export const relu: Handler = (c, _node, ins, name) => {
  const x = need(ins[0], "input");
  if (isConst(x)) return { ...x, data: x.data.map((v) => Math.max(0, v)) };
  return c.relu(x, name);
};
