"use client";
import { type Config, createConfig, http, injected, unstable_connector } from "wagmi";
import { defineChain } from "viem";
import { type WebChainConfig, toViemChain } from "./chain";

/**
 * Without a server chain, wagmi still needs one: a stand-in whose every request goes to the
 * connected wallet itself (never to a public RPC on the internet). Only connecting and signing
 * (Sign-In with Ethereum) happen then.
 */
const NO_CHAIN = defineChain({
  id: 1,
  name: "Ethereum",
  nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
  rpcUrls: { default: { http: [] } },
});

const configs = new Map<string, Config>();

/**
 * The wagmi config for this server's chain (or none): the browser's injected wallet only (EIP-1193
 * `window.ethereum`; no WalletConnect, nothing loaded from a CDN), reads through the server's RPC URL.
 * One config per chain setting, shared by every wallet component on the page (they keep one state).
 */
export function wagmiConfigFor(chain: WebChainConfig | undefined): Config {
  const key = chain ? `${chain.chainId}|${chain.rpcUrl}` : "none";
  let config = configs.get(key);
  if (!config) {
    const c = chain ? toViemChain(chain) : NO_CHAIN;
    config = createConfig({
      chains: [c],
      connectors: [injected()],
      transports: { [c.id]: chain ? http(chain.rpcUrl, { retryCount: 1 }) : unstable_connector(injected) },
      // One wallet, `window.ethereum`: EIP-6963 discovery would list the same wallet twice.
      multiInjectedProviderDiscovery: false,
      pollingInterval: 1_000,
    });
    configs.set(key, config);
  }
  return config;
}

/** Whether this browser has an injected (EIP-1193) wallet. */
export const hasInjectedWallet = (): boolean => typeof window !== "undefined" && typeof (window as { ethereum?: unknown }).ethereum === "object" && !!(window as { ethereum?: unknown }).ethereum;
