export * from "./dtypes";
export * from "./errors";
export * from "./schemas/common";
export * from "./schemas/api";
export * from "./schemas/protocol";
