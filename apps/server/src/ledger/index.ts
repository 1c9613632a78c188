/** The double-entry ledger. See accounts.ts for the account names and transfer.ts for the rules. */
export * from "./accounts";
export * from "./transfer";
export * from "./operations";
export * from "./settle";
export * from "./queries";
export * from "./invariants";
export type { DbLike } from "./db";
