export * from "./account-tag";
export * from "./marketplace";
