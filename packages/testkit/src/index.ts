export * from "./onnx-builder";
export * from "./models";
export * from "./external-data-models";
