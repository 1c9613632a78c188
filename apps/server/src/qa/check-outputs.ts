import { StunError, validateRawTensor, type RawTensor, type TensorInfo } from "@stun/shared";

/**
 * Checks a provider's outputs against the model's declared outputs — every declared output
 * present, with its dtype, its rank and every fixed (numeric) dimension — and keeps only the
 * declared ones. Symbolic dimensions accept any size. Throws VALIDATION_FAILED naming the output.
 */
export function checkOutputs(outputs: Record<string, RawTensor>, declared: TensorInfo[]): Record<string, RawTensor> {
  const kept: Record<string, RawTensor> = {};
  for (const info of declared) {
    const t = outputs[info.name];
    const bad = (why: string) => new StunError("VALIDATION_FAILED", `output "${info.name}" ${why}`);
    if (!t) throw bad("is missing");
    if (t.dtype !== info.dtype) throw bad(`is ${t.dtype}, the model declares ${info.dtype}`);
    if (!Array.isArray(t.dims) || t.dims.length !== info.shape.length) {
      throw bad(`has rank ${Array.isArray(t.dims) ? t.dims.length : "?"}, the model declares ${info.shape.length}`);
    }
    info.shape.forEach((d, i) => {
      if (typeof d === "number" && d >= 0 && t.dims[i] !== d) throw bad(`has dims [${t.dims.join(",")}], the model declares [${info.shape.join(",")}]`);
    });
    const data = t.data instanceof Uint8Array ? t.data : Array.isArray(t.data) ? t.data : new Uint8Array(t.data as ArrayBuffer);
    const raw = { dtype: t.dtype, dims: t.dims, data };
    validateRawTensor(raw, info.name);
    kept[info.name] = raw;
  }
  return kept;
}
