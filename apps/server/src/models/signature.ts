import onnxProto from "onnx-proto";
import { StunError, type Dtype, type TensorInfo } from "@stun/shared";

const { onnx } = onnxProto;
const DataType = onnx.TensorProto.DataType;

/** ONNX TensorProto element types → Stun dtypes (the ones onnxruntime's JS bindings support). */
const ELEM_TYPES: Partial<Record<number, Dtype>> = {
  [DataType.FLOAT]: "float32",
  [DataType.FLOAT16]: "float16",
  [DataType.DOUBLE]: "float64",
  [DataType.INT8]: "int8",
  [DataType.INT16]: "int16",
  [DataType.INT32]: "int32",
  [DataType.INT64]: "int64",
  [DataType.UINT8]: "uint8",
  [DataType.UINT16]: "uint16",
  [DataType.UINT32]: "uint32",
  [DataType.UINT64]: "uint64",
  [DataType.BOOL]: "bool",
  [DataType.STRING]: "string",
};

export interface ModelSignature {
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  opset: number;
}

type ValueInfo = onnxProto.onnx.IValueInfoProto;

function tensorInfo(v: ValueInfo, role: string): TensorInfo {
  const name = v.name ?? "";
  const tt = v.type?.tensorType;
  if (!tt) throw new StunError("MODEL_INVALID", `${role} "${name}" is not a tensor (sequences and maps are not supported)`);
  const dtype = ELEM_TYPES[tt.elemType ?? 0];
  if (!dtype) throw new StunError("MODEL_INVALID", `${role} "${name}" has an unsupported element type (${tt.elemType})`);
  const shape = (tt.shape?.dim ?? []).map((d, i): number | string => {
    if (d.dimParam) return d.dimParam;
    if (d.dimValue !== undefined && d.dimValue !== null) return Number(d.dimValue);
    return `${name}_dim${i}`;
  });
  return { name, dtype, shape };
}

/**
 * Reads a model's inputs and outputs from the ONNX graph. Graph inputs that are initializers
 * (weights with defaults) are not inputs the requester has to send.
 */
export function readModelSignature(bytes: Uint8Array): ModelSignature {
  let model: InstanceType<typeof onnx.ModelProto>;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new StunError("MODEL_INVALID", `not an ONNX model: ${(e as Error).message}`);
  }
  const graph = model.graph;
  if (!graph || !model.irVersion) throw new StunError("MODEL_INVALID", "not an ONNX model: no graph or IR version");
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  const inputs = (graph.input ?? []).filter((v) => !initializers.has(v.name ?? "")).map((v) => tensorInfo(v, "input"));
  const outputs = (graph.output ?? []).map((v) => tensorInfo(v, "output"));
  if (outputs.length === 0) throw new StunError("MODEL_INVALID", "the model has no outputs");
  const opset = Math.max(0, ...(model.opsetImport ?? []).filter((o) => !o.domain).map((o) => Number(o.version ?? 0)));
  return { inputs, outputs, opset };
}
