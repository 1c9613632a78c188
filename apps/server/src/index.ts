export { startServer, type RunningServer } from "./server";
export { parseConfig, type Config } from "./env";
export type { AppRouter } from "./trpc/routers/_app";
export { createAccount, faucet } from "./services/accounts";
