/**
 * viem clients for the configured chain: a public client (reads, logs, receipts), the submitter's
 * wallet client (pays gas for the server's transactions) and the settler accounts that sign.
 */
import { type Account, type Chain, type LocalAccount, type PublicClient, type Transport, type WalletClient, createPublicClient, createWalletClient, defineChain, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { type MarketplaceDomain, marketplaceDomain } from "@stun/contracts";
import type { ChainConfig } from "./config";

export interface ChainClients {
  chain: Chain;
  publicClient: PublicClient<Transport, Chain>;
  wallet: WalletClient<Transport, Chain, Account>;
  /** The settlers that sign (the first `threshold` configured keys). */
  signers: LocalAccount[];
  domain: MarketplaceDomain;
}

export function createChainClients(cfg: ChainConfig): ChainClients {
  const chain = defineChain({
    id: cfg.chainId,
    name: cfg.label,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [cfg.rpcUrl] } },
  });
  const transport = http(cfg.rpcUrl, { retryCount: 2, timeout: 20_000 });
  const pollingInterval = Math.min(cfg.pollMs, 1_000);
  const publicClient = createPublicClient({ chain, transport, pollingInterval, cacheTime: 0 });
  const wallet = createWalletClient({ chain, transport, account: privateKeyToAccount(cfg.submitterKey), pollingInterval, cacheTime: 0 });
  const signers = cfg.settlerKeys.slice(0, cfg.threshold).map((k) => privateKeyToAccount(k));
  return { chain, publicClient, wallet, signers, domain: marketplaceDomain(cfg.chainId, cfg.marketplace) };
}
