/**
 * @stun/contracts for TypeScript: typed ABIs and bytecode (generated from the Solidity sources by
 * scripts/compile.ts), EIP-712 signing helpers for the settlers, and deployment helpers.
 */
export * from "./generated";
export * from "./typed-data";
export * from "./deploy";
export * from "./deploy-chain";
export * from "./chains";
export * from "./ids";
export * from "./zk";

/** IComputeMarketplace.TaskStatus, by its numeric value. */
export const TaskStatus = { None: 0, Escrowed: 1, Settled: 2, Released: 3, Disputed: 4, Refunded: 5 } as const;
export type TaskStatusName = keyof typeof TaskStatus;

/** Native ETH in the marketplace's token arguments. */
export const ETH = "0x0000000000000000000000000000000000000000" as const;
