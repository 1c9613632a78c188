/**
 * @stun/provider-core's wire ⇄ onnxruntime tensor conversion bound to onnxruntime-node (the
 * provider's hot path: no copy where the bytes allow it).
 */
import ort from "onnxruntime-node";
import { ortToWire as coreOrtToWire, wireToOrt as coreWireToOrt } from "@stun/provider-core";
import type { WireTensor } from "@stun/shared";

/** A wire tensor as an ort.Tensor; throws ProviderError INPUT_INVALID when it is malformed. */
export const wireToOrt = (name: string, t: WireTensor): ort.Tensor => coreWireToOrt(ort, name, t);

/** An ort output as a wire tensor: a view of the tensor's bytes (no copy), or string[]. */
export const ortToWire = (name: string, t: ort.Tensor): WireTensor => coreOrtToWire(name, t);
