"use client";
import { useState } from "react";
import type { Address } from "viem";
import { createSiweMessage } from "viem/siwe";
import { useConfig, useConnect, useConnection, useConnectors } from "wagmi";
import { signMessage } from "wagmi/actions";
import type { SiweNonceResponse, SiweVerifyResponse } from "@stun/shared";
import { rest } from "@/lib/rest";
import { toUiError, type UiError } from "@/lib/errors";
import { useWalletScope } from "./scope";

/** `0x1234…abcd`. */
export const shortAddress = (a: string): string => `${a.slice(0, 6)}…${a.slice(-4)}`;

/** Connects the injected wallet (the only connector); `error` says why not. */
export function useConnectWallet() {
  const connectors = useConnectors();
  const connect = useConnect();
  const { injected } = useWalletScope();
  return {
    injected,
    pending: connect.isPending,
    error: connect.error ? toUiError(connect.error) : null,
    connect: () => {
      const connector = connectors[0];
      if (connector) connect.mutate({ connector });
    },
  };
}

/**
 * Sign-In with Ethereum: asks the server for a nonce, has the connected wallet sign an EIP-4361
 * message for this origin, and sends it to auth.siweVerify. With `apiKey` (a signed-in account)
 * the wallet is linked to that account; without, the wallet signs in to its own account (created on
 * first sign-in). Resolves to the server's answer (a new API key for the session).
 */
export function useSignInWithEthereum() {
  const config = useConfig();
  const { address, chainId } = useConnection();
  const { chain } = useWalletScope();
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<UiError | null>(null);

  const run = async (apiKey: string | null): Promise<SiweVerifyResponse | undefined> => {
    if (!address) return undefined;
    setPending(true);
    setError(null);
    try {
      const { nonce } = await rest<SiweNonceResponse>("POST", "/auth/siwe/nonce", { key: null });
      const message = createSiweMessage({
        domain: window.location.host,
        address: address as Address,
        statement: apiKey ? "Link this wallet to my Stun account." : "Sign in to Stun with this wallet.",
        uri: window.location.origin,
        version: "1",
        // The server's chain when it settles on one (it accepts only that); else the wallet's.
        chainId: chain?.chainId ?? chainId ?? 1,
        nonce,
        issuedAt: new Date(),
        expirationTime: new Date(Date.now() + 10 * 60_000),
      });
      const signature = await signMessage(config, { account: address as Address, message });
      return await rest<SiweVerifyResponse>("POST", "/auth/siwe/verify", {
        key: apiKey,
        body: JSON.stringify({ message, signature }),
        contentType: "application/json",
      });
    } catch (e) {
      setError(toUiError(e));
      return undefined;
    } finally {
      setPending(false);
    }
  };
  return { address, pending, error, run };
}
