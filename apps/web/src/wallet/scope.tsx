"use client";
import { useQuery } from "@tanstack/react-query";
import { createContext, useContext, useSyncExternalStore, type ReactNode } from "react";
import { WagmiProvider } from "wagmi";
import { fetchWebConfig, type WebConfig } from "@/lib/rest";
import type { WebChainConfig } from "./chain";
import { hasInjectedWallet, wagmiConfigFor } from "./config";

interface WalletScopeValue {
  webConfig: WebConfig;
  /** The server's chain; undefined: on-chain settlement is off on this server. */
  chain: WebChainConfig | undefined;
  /** Whether the browser has an injected wallet (`window.ethereum`). */
  injected: boolean;
}

const WalletContext = createContext<WalletScopeValue | undefined>(undefined);

/** The wallet scope's server chain and wallet presence (inside a {@link WalletScope}). */
export function useWalletScope(): WalletScopeValue {
  const v = useContext(WalletContext);
  if (!v) throw new Error("useWalletScope outside a WalletScope");
  return v;
}

const noSubscribe = () => () => undefined;

/**
 * Wallet components live inside a WalletScope: it reads /web-config.json (the server's chain, if
 * any), and provides wagmi for that chain. Every scope on a page shares one wagmi config, so the nav's
 * connect control and the page's wallet parts see the same connection. Renders `fallback` until
 * the config is in (and on the server, where there is no wallet).
 */
export function WalletScope({ children, fallback = null }: { children: ReactNode; fallback?: ReactNode }) {
  const config = useQuery({ queryKey: ["web-config"], queryFn: fetchWebConfig, staleTime: Infinity, retry: false });
  const injected = useSyncExternalStore(noSubscribe, hasInjectedWallet, () => false);
  const client = useSyncExternalStore(
    noSubscribe,
    () => true,
    () => false,
  );
  // A server without /web-config.json: no chain, and nothing else known.
  const webConfig: WebConfig | undefined = config.data ?? (config.isError ? { mode: "production", faucet: false } : undefined);
  if (!client || !webConfig) return <>{fallback}</>;
  const chain = webConfig.chain;
  return (
    <WalletContext.Provider value={{ webConfig, chain, injected }}>
      <WagmiProvider config={wagmiConfigFor(chain)}>{children}</WagmiProvider>
    </WalletContext.Provider>
  );
}
