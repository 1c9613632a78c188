"use client";
import { TonConnect, TonConnectUIProvider, isWalletInfoCurrentlyInjected, type Wallet, type WalletInfoInjectable } from "@tonconnect/ui-react";
import { useQuery } from "@tanstack/react-query";
import type { ReactNode } from "react";
import type { TonDepositMessage, TonProofPayloadResponse, TonProofVerifyRequest, WalletSignInResponse } from "@stun/shared";
import { Button, ErrorNotice } from "@/components/ui";
import { toUiError } from "@/lib/errors";
import { rest } from "@/lib/rest";
import { useWalletSignIn } from "./wallet-sign-in";

let connector: TonConnect | undefined;

/**
 * The page's one TonConnect connector: the manifest this server serves (`/tonconnect-manifest.json`),
 * the wallets list the web app ships (`/tonconnect-wallets.json`, never config.ton.org), analytics off.
 */
export function tonConnector(): TonConnect {
  connector ??= new TonConnect({
    manifestUrl: `${window.location.origin}/tonconnect-manifest.json`,
    walletsListSource: `${window.location.origin}/tonconnect-wallets.json`,
    analytics: { mode: "off" },
  });
  return connector;
}

/** TON wallets for the components inside (TonConnect UI's provider on this app's connector). */
export function TonScope({ children }: { children: ReactNode }) {
  return <TonConnectUIProvider connector={tonConnector()}>{children}</TonConnectUIProvider>;
}

/** Waits for the connector's next connection (or its connect error). */
function nextConnection(c: TonConnect): Promise<Wallet> {
  return new Promise((resolve, reject) => {
    const stop = c.onStatusChange(
      (wallet) => {
        if (!wallet) return;
        stop();
        resolve(wallet);
      },
      (e) => {
        stop();
        reject(e);
      },
    );
  });
}

/** The ton_proof request the server checks, from a wallet's connection. */
function proofRequest(wallet: Wallet): TonProofVerifyRequest {
  const reply = wallet.connectItems?.tonProof;
  if (!reply) throw new Error("the wallet connected without a ton_proof");
  if (!("proof" in reply)) throw new Error(`the wallet refused the ton_proof: ${reply.error.message ?? `error ${reply.error.code}`}`);
  const { account } = wallet;
  if (!account.walletStateInit) throw new Error("the wallet did not share its state_init");
  return {
    address: account.address,
    network: account.chain,
    ...(account.publicKey ? { public_key: account.publicKey } : {}),
    proof: { timestamp: reply.proof.timestamp, domain: reply.proof.domain, signature: reply.proof.signature, payload: reply.proof.payload, state_init: account.walletStateInit },
  };
}

/**
 * TonConnect ton_proof with an injected (browser extension) TON wallet: a payload from the server,
 * a fresh connection asking the wallet to sign it, then the server's check. With `apiKey` the
 * wallet is linked to that account, without it signs in.
 */
export function useTonProof() {
  return useWalletSignIn(async (wallet: WalletInfoInjectable, apiKey: string | null): Promise<WalletSignInResponse> => {
    const c = tonConnector();
    const { payload } = await rest<TonProofPayloadResponse>("POST", "/auth/ton-proof/payload", { key: null });
    // A proof comes only with a new connection.
    if (c.connected) await c.disconnect();
    const connected = nextConnection(c);
    c.connect({ jsBridgeKey: wallet.jsBridgeKey }, { tonProof: payload });
    const body = proofRequest(await connected);
    return await rest<WalletSignInResponse>("POST", "/auth/ton-proof/verify", { key: apiKey, body: JSON.stringify(body), contentType: "application/json" });
  });
}

/** The TON wallets injected in this browser that the wallets list names. */
function useInjectedTonWallets() {
  return useQuery({
    queryKey: ["ton.injected-wallets"],
    queryFn: async () => (await tonConnector().getWallets()).filter(isWalletInfoCurrentlyInjected),
    staleTime: Infinity,
  });
}

/** "Sign in with TON" (no `apiKey`) or "Link a TON wallet" (`apiKey`): one button per injected TON wallet. */
export function TonWalletControl({ apiKey, onDone }: { apiKey: string | null; onDone: (out: WalletSignInResponse) => Promise<void> | void }) {
  const wallets = useInjectedTonWallets();
  const proof = useTonProof();
  const verb = apiKey ? "Link" : "Sign in with";
  return (
    <div className="space-y-3 text-sm text-slate-600" data-testid="ton-wallets">
      {wallets.isError ? <ErrorNotice error={toUiError(wallets.error)} title="Could not read the TON wallets list" /> : null}
      {wallets.data && wallets.data.length === 0 ? (
        <p data-testid="no-ton-wallet">No TON wallet extension found in this browser. Install one (Tonkeeper, MyTonWallet, …) and reload this page.</p>
      ) : null}
      {wallets.data?.length ? (
        <div className="flex flex-wrap gap-2">
          {wallets.data.map((w) => (
            <Button
              key={w.appName}
              variant={apiKey ? "secondary" : "primary"}
              disabled={proof.pending}
              onClick={async () => {
                const out = await proof.run(w, apiKey);
                if (out) await onDone(out);
              }}
            >
              {proof.pending ? "Waiting for the wallet…" : `${verb} ${w.name}`}
            </Button>
          ))}
        </div>
      ) : null}
      {proof.error ? <ErrorNotice error={proof.error} title={apiKey ? "Linking the TON wallet failed" : "Sign-in with TON failed"} /> : null}
    </div>
  );
}

/** The first injected TON wallet in this browser, connected (without a proof) unless the connector already is. */
export async function connectedTonWallet(): Promise<Wallet> {
  const c = tonConnector();
  if (c.connected && c.wallet) return c.wallet;
  const [injected] = (await c.getWallets()).filter(isWalletInfoCurrentlyInjected);
  if (!injected) throw new Error("no TON wallet extension found in this browser");
  const connected = nextConnection(c);
  c.connect({ jsBridgeKey: injected.jsBridgeKey });
  return await connected;
}

/**
 * Deposits from the TON wallet: the server writes the jetton transfer (from the wallet's jetton
 * wallet to the marketplace, the account's tag as forward payload), the wallet signs and sends it
 * through TonConnect. Resolves to the signed message (base64 BOC) the wallet returns.
 */
export async function depositFromTonWallet(amount: bigint): Promise<{ from: string; boc: string }> {
  const wallet = await connectedTonWallet();
  const msg = await rest<TonDepositMessage>("POST", "/chain/ton-deposit-message", {
    body: JSON.stringify({ amount: amount.toString(), owner: wallet.account.address }),
    contentType: "application/json",
  });
  const { boc } = await tonConnector().sendTransaction({ validUntil: Math.floor(Date.now() / 1000) + 300, messages: [{ address: msg.address, amount: msg.amount, payload: msg.payload }] });
  return { from: wallet.account.address, boc };
}
