export { startServer, type RunningServer } from "./server";
export { parseConfig, type Config } from "./env";
export type { AppRouter } from "./trpc/routers/_app";
export { accountView, createAccount, faucet } from "./services/accounts";
export { liveStakeAtRisk, stakeFunds, unstakeFunds } from "./services/stake";
export { startLocalChain, startRpcForwarder, webAppOrigins, type LocalChain } from "./chain";
export { assertOutside, localKeysFile, moveLegacySecret, readSecretFile, secretsDir, writeSecretFile } from "./local-secrets";
