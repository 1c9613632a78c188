/**
 * The compiler's front end: reads the graph, checks every operator and its use, and runs each
 * node's handler to build the constrained steps and the output forms. Fast (no hashing, no circom):
 * `zkmlSupported` runs it on upload.
 */
import { CircuitBuilder } from "./builder";
import { ZkmlModelError, ZkmlUnsupportedError, type UnsupportedOp } from "./errors";
import { type Lin, linSig } from "./linear";
import type { OutputMeta } from "./model-circuit";
import { ELEM_DOUBLE, ELEM_FLOAT, ELEM_FLOAT16, type OnnxNode, decodeModel } from "./onnx";
import { SUPPORTED_OPS, Unsupported, handlerOf, isSupportedOp } from "./ops";
import { type ResolvedZkmlOptions, type ZkmlOptions, resolveOptions } from "./options";
import { prod } from "./shapes";
import { type Value, isDyn } from "./value";

/** The model's unsupported operators (empty when every op is supported). Does not compile. */
export function unsupportedOps(bytes: Uint8Array): UnsupportedOp[] {
  const model = decodeModel(bytes);
  return model.nodes
    .map((n, i) => ({ n, i }))
    .filter(({ n }) => (n.domain && n.domain !== "ai.onnx") || !isSupportedOp(n.opType ?? ""))
    .map(({ n, i }) => ({ op: n.domain && n.domain !== "ai.onnx" ? `${n.domain}.${n.opType}` : (n.opType ?? ""), node: n.name || `#${i}` }));
}

export interface Plan {
  c: CircuitBuilder;
  opts: ResolvedZkmlOptions;
  sha256: string;
  inputName: string;
  inShape: number[];
  nIn: number;
  outputs: OutputMeta[];
  outForms: Lin[];
}

/** Reads a node's inputs as values (missing optional inputs are undefined). */
function inputsOf(node: OnnxNode, values: Map<string, Value>): (Value | undefined)[] {
  return (node.input ?? []).map((name) => {
    if (!name) return undefined;
    const v = values.get(name);
    if (!v) throw new ZkmlModelError(`node "${node.name}" reads "${name}", which no earlier node produces (the graph must be topologically sorted)`);
    return v;
  });
}

/** Everything but the model hash and the circom text. */
export function planModel(bytes: Uint8Array, options: ZkmlOptions = {}): Plan {
  const opts = resolveOptions(options);
  const model = decodeModel(bytes);
  const bad = unsupportedOps(bytes);
  if (bad.length > 0) throw new ZkmlUnsupportedError(bad, SUPPORTED_OPS);

  const floatTypes = new Set([ELEM_FLOAT, ELEM_DOUBLE, ELEM_FLOAT16]);
  if (model.inputs.length !== 1)
    throw new ZkmlUnsupportedError([{ op: "graph", node: "inputs", reason: `the model has ${model.inputs.length} inputs; exactly one (float) input is supported` }], SUPPORTED_OPS);
  const gi = model.inputs[0]!;
  if (!floatTypes.has(gi.elemType)) throw new ZkmlUnsupportedError([{ op: "graph", node: gi.name, reason: "the input must be a float tensor" }], SUPPORTED_OPS);
  const inShape = gi.shape.map((d) => (typeof d === "number" && d > 0 ? d : 1));
  const nIn = prod(inShape);

  const c = new CircuitBuilder(opts, nIn);
  const values = new Map<string, Value>();
  for (const [name, t] of model.constants) values.set(name, { kind: "const", shape: t.dims, data: t.data });
  values.set(gi.name, { kind: "dyn", shape: inShape, e: 1, data: Array.from({ length: nIn }, (_, i) => linSig(i)) });

  const problems: { op: string; node: string; reason: string }[] = [];
  // Outputs of nodes that failed: nodes reading them are skipped (their inputs are unknown), so that
  // one run reports every independent problem.
  const poisoned = new Set<string>();
  model.nodes.forEach((node, i) => {
    const op = node.opType ?? "";
    const name = node.name || `#${i}`;
    c.ops[op] = (c.ops[op] ?? 0) + 1;
    if ((node.input ?? []).some((n) => poisoned.has(n))) {
      for (const o of node.output ?? []) poisoned.add(o);
      return;
    }
    try {
      const res = handlerOf(op)(c, node, inputsOf(node, values), name);
      const outs = Array.isArray(res) ? res : [res];
      (node.output ?? []).forEach((o, j) => {
        if (o && outs[j]) values.set(o, outs[j]!);
      });
    } catch (e) {
      if (!(e instanceof Unsupported)) throw e;
      problems.push({ op, node: name, reason: e.reason });
      for (const o of node.output ?? []) poisoned.add(o);
    }
  });
  if (problems.length > 0) throw new ZkmlUnsupportedError(problems, SUPPORTED_OPS);

  // Outputs, all published at exponent 2.
  const outputs: OutputMeta[] = [];
  const outForms: Lin[] = [];
  for (const o of model.outputs) {
    const v = values.get(o.name);
    if (!v) throw new ZkmlModelError(`graph output "${o.name}" is not produced by any node`);
    if (!isDyn(v)) throw new ZkmlUnsupportedError([{ op: "graph", node: o.name, reason: "a constant output is not supported" }], SUPPORTED_OPS);
    const forms = v.e > 2 ? c.toE1(v, o.name).data.map((l) => c.lift(l, 1, 2)) : v.data.map((l) => c.lift(l, v.e, 2));
    outputs.push({ name: o.name, shape: v.shape, size: forms.length, offset: 2 + outForms.length });
    outForms.push(...forms);
  }
  return { c, opts, sha256: model.sha256, inputName: gi.name, inShape, nIn, outputs, outForms };
}
