import type { Metadata } from "next";
import { ContributeTab } from "@/provider/contribute-tab";

export const metadata: Metadata = {
  title: "Contribute",
  description: "Turn this browser into a Stun provider: run ONNX models on WebGPU or WASM and earn for every accepted result.",
};

export default function ProvidePage() {
  return <ContributeTab />;
}
