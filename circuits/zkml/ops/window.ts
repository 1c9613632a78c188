/**
 * The sliding-window geometry Conv and the pools share (ONNX strides, dilations, pads, auto_pad on
 * NCHW inputs): output size, and the in-bounds input cells of each window (padding contributes nothing).
 */
import type { OnnxNode } from "../onnx";
import { Unsupported, int, ints, str } from "./handler";

export function windowGeometry(node: OnnxNode, x: readonly number[], kernel: number[], isPool: boolean) {
  if (x.length !== 4) throw new Unsupported(`only 2-D (NCHW) inputs are supported, got rank ${x.length}`);
  const [, , H, W] = x as [number, number, number, number];
  const [kH, kW] = kernel as [number, number];
  const strides_ = ints(node, "strides", [1, 1]);
  const dil = ints(node, "dilations", [1, 1]);
  let pads = ints(node, "pads", [0, 0, 0, 0]);
  const autoPad = str(node, "auto_pad", "NOTSET");
  if (isPool && int(node, "ceil_mode", 0) !== 0) throw new Unsupported("ceil_mode=1 is not supported");
  const sH = strides_[0] ?? 1;
  const sW = strides_[1] ?? 1;
  const dH = dil[0] ?? 1;
  const dW = dil[1] ?? 1;
  if (autoPad === "VALID") pads = [0, 0, 0, 0];
  else if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
    const pad = (size: number, s: number, k: number, d: number) => Math.max(0, (Math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size);
    const ph = pad(H, sH, kH, dH);
    const pw = pad(W, sW, kW, dW);
    const lo = (p: number) => (autoPad === "SAME_UPPER" ? Math.floor(p / 2) : Math.ceil(p / 2));
    pads = [lo(ph), lo(pw), ph - lo(ph), pw - lo(pw)];
  } else if (autoPad !== "NOTSET") throw new Unsupported(`auto_pad ${autoPad} is not supported`);
  const [pT, pL, pB, pR] = pads as [number, number, number, number];
  const oH = Math.floor((H + pT + pB - dH * (kH - 1) - 1) / sH) + 1;
  const oW = Math.floor((W + pL + pR - dW * (kW - 1) - 1) / sW) + 1;
  if (oH < 1 || oW < 1) throw new Unsupported("the window is larger than the padded input");
  /** Input (y, x) positions of window (oy, ox), in-bounds only. */
  const window = (oy: number, ox: number): [number, number, number, number][] => {
    const cells: [number, number, number, number][] = [];
    for (let ky = 0; ky < kH; ky++) {
      for (let kx = 0; kx < kW; kx++) {
        const iy = oy * sH - pT + ky * dH;
        const ix = ox * sW - pL + kx * dW;
        if (iy >= 0 && iy < H && ix >= 0 && ix < W) cells.push([iy, ix, ky, kx]);
      }
    }
    return cells;
  };
  return { H, W, oH, oW, kH, kW, window };
}
