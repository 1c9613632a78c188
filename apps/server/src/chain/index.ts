/**
 * The chain adapter (docs/ARCHITECTURE.md "Chain adapter"; docs/CHAIN.md): on-chain
 * deposits credited to the ledger, accepted tasks of chain-funded requesters settled on chain out of
 * their deposits (mirrored in the ledger), withdrawals of deposits, and a local chain for npm start with its browser-facing RPC forwarder.
 */
export { ChainAdapter, type ChainInfo, type ChainToken } from "./adapter";
export { CHAIN_NAMES, CHAIN_PRESETS, type ChainConfig, type ChainName } from "./config";
export { EvmDeposits } from "./deposits";
export { EscrowSubmitter, type EscrowEntry } from "./escrows";
export { checkConservation, type ConservationReport, type ConservationTerm, type ExtraTerms } from "./conservation";
export { chainBalance, type ChainBalance } from "./ledger";
export { type LocalChain, type LocalChainAddresses, type LocalChainOptions, startLocalChain } from "./local";
export { type RpcForwarder, refusedMethod, startRpcForwarder, webAppOrigins } from "./rpc-forwarder";
export { SettlementSubmitter, type SettlementEntry } from "./settlements";
export { SlashSubmitter } from "./slashes";
export { checkStakeConservation, type StakeConservation } from "./stake-conservation";
export { StakeWatcher } from "./stake-watcher";
export { EvmWithdrawals, type WithdrawalView } from "./withdrawals";
