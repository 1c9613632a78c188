export * from "./onnx-builder";
export * from "./models";
