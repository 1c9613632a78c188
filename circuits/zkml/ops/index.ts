/**
 * The operator registry: every supported ONNX operator (domain ai.onnx) and the handler that turns
 * it into linear forms and constrained steps. Typed by SUPPORTED_OPS, so the list the errors print
 * and the handlers cannot drift apart.
 */
import { batchNormalization } from "./batch-norm";
import { constant } from "./constant";
import { conv } from "./conv";
import { gemm, matMul } from "./dense";
import { add, mul, sub } from "./elementwise";
import type { Handler } from "./handler";
import { concat, flatten, passThrough, reshape, squeeze, transpose, unsqueeze } from "./layout";
import { averagePool, globalAveragePool, maxPool } from "./pool";
import { relu } from "./relu";

export { type Handler, Unsupported } from "./handler";

/** ONNX operators the compiler turns into constraints (domain ai.onnx). */
export const SUPPORTED_OPS = [
  "Gemm",
  "MatMul",
  "Add",
  "Sub",
  "Mul",
  "Relu",
  "Conv",
  "MaxPool",
  "AveragePool",
  "GlobalAveragePool",
  "BatchNormalization",
  "Flatten",
  "Reshape",
  "Squeeze",
  "Unsqueeze",
  "Transpose",
  "Concat",
  "Identity",
  "Dropout",
  "Constant",
] as const;
export type SupportedOp = (typeof SUPPORTED_OPS)[number];

const HANDLERS: Record<SupportedOp, Handler> = {
  Gemm: gemm,
  MatMul: matMul,
  Add: add,
  Sub: sub,
  Mul: mul,
  Relu: relu,
  Conv: conv,
  MaxPool: maxPool,
  AveragePool: averagePool,
  GlobalAveragePool: globalAveragePool,
  BatchNormalization: batchNormalization,
  Flatten: flatten,
  Reshape: reshape,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Transpose: transpose,
  Concat: concat,
  Identity: passThrough,
  // Dropout is the identity at inference.
  Dropout: passThrough,
  Constant: constant,
};

const SUPPORTED = new Set<string>(SUPPORTED_OPS);

export const isSupportedOp = (op: string): op is SupportedOp => SUPPORTED.has(op);

/** The handler of a supported operator (callers check support first: `unsupportedOps`). */
export function handlerOf(op: string): Handler {
  if (!isSupportedOp(op)) throw new Error(`no handler for operator "${op}"`);
  return HANDLERS[op];
}
