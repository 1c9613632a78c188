export * from "./errors";
export * from "./verified-quote";
export * from "./policy";
export * from "./binding";
export * from "./simulated";
export * from "./seal";
export * from "./verify";
export { toHex, fromHex, sha256Hex } from "./bytes";
