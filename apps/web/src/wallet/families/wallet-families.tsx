"use client";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import type { LinkedWalletsResponse, WalletFamily, WalletSignInResponse } from "@stun/shared";
import type { ReactNode } from "react";
import { Badge, Card, ErrorNotice } from "@/components/ui";
import { setApiKey, useApiKey } from "@/lib/api-key";
import { toUiError } from "@/lib/errors";
import { rest } from "@/lib/rest";
import { SolanaScope, SolanaWalletControl } from "./solana";
import { TonScope, TonWalletControl } from "./ton";

/** Solana (wallet adapter) and TON (TonConnect) wallets for the components inside. */
export function WalletFamiliesScope({ children }: { children: ReactNode }) {
  return (
    <SolanaScope>
      <TonScope>{children}</TonScope>
    </SolanaScope>
  );
}

const FAMILY_NAME: Record<WalletFamily, string> = { evm: "Ethereum (EVM)", solana: "Solana", ton: "TON" };

/** `eip155:8453` → "eip155:8453"; `ton:-239` → "ton:-239 (mainnet)". */
function networkLabel(network: string): string {
  if (network === "ton:-239") return "ton:-239 (mainnet)";
  if (network === "ton:-3") return "ton:-3 (testnet)";
  return network;
}

/** The sign-in page's "Sign in with Solana" and "Sign in with TON" card. */
export function OtherWalletsSignInCard({ onSignedIn }: { onSignedIn: (apiKey: string) => Promise<void> | void }) {
  const done = (out: WalletSignInResponse) => onSignedIn(out.apiKey);
  return (
    <Card className="mt-6" title="Or sign in with a Solana or TON wallet">
      <WalletFamiliesScope>
        <div className="space-y-5">
          <section aria-label="Sign in with Solana" className="space-y-2">
            <h3 className="text-sm font-medium text-slate-800">Solana</h3>
            <p className="text-sm text-slate-600">Your wallet signs a Sign-In With Solana message for this site; nothing is sent on chain. The wallet&apos;s account is created the first time.</p>
            <SolanaWalletControl apiKey={null} onDone={done} />
          </section>
          <section aria-label="Sign in with TON" className="space-y-2">
            <h3 className="text-sm font-medium text-slate-800">TON</h3>
            <p className="text-sm text-slate-600">Your wallet signs a TonConnect proof for this site; nothing is sent on chain.</p>
            <TonWalletControl apiKey={null} onDone={done} />
          </section>
        </div>
      </WalletFamiliesScope>
    </Card>
  );
}

/** Every wallet linked to the signed-in account (EVM, Solana, TON), and linking a Solana or TON wallet (inside WalletFamiliesScope). */
export function LinkedWalletsCard() {
  const apiKey = useApiKey();
  const queryClient = useQueryClient();
  const linked = useQuery({ queryKey: ["accounts.me.wallets", apiKey], queryFn: () => rest<LinkedWalletsResponse>("GET", "/accounts/me/wallets"), enabled: !!apiKey });
  if (!apiKey) {
    return (
      <Card title="Linked wallets">
        <p className="text-sm text-slate-600">Sign in to link Solana and TON wallets to your account and see the wallets linked to it.</p>
      </Card>
    );
  }
  // Linking answers with a new key for this session, like Sign-In with Ethereum.
  const onLinked = async (out: WalletSignInResponse) => {
    setApiKey(out.apiKey);
    await queryClient.resetQueries();
  };
  const wallets = linked.data?.wallets ?? [];
  return (
    <Card title="Linked wallets" id="linked-wallets">
      <div className="space-y-5">
        {linked.isError ? <ErrorNotice error={toUiError(linked.error)} title="Could not load your linked wallets" /> : null}
        {linked.data ? (
          wallets.length ? (
            <ul className="divide-y divide-slate-100 text-sm" aria-label="Wallets linked to your account">
              {wallets.map((w) => (
                <li key={w.family} className="flex flex-wrap items-center gap-3 py-2" data-testid="linked-wallet" data-family={w.family}>
                  <Badge tone="slate">{FAMILY_NAME[w.family]}</Badge>
                  <span className="break-all font-mono text-[0.8125rem] text-slate-900" data-testid="linked-wallet-address">
                    {w.address}
                  </span>
                  <span className="text-xs text-slate-500" data-testid="linked-wallet-network">
                    {networkLabel(w.network)}
                  </span>
                  <time className="text-xs text-slate-500" dateTime={w.linkedAt} title={w.linkedAt} data-testid="linked-wallet-date">
                    linked {new Date(w.linkedAt).toLocaleDateString("en-CA")}
                  </time>
                </li>
              ))}
            </ul>
          ) : (
            <p className="text-sm text-slate-500" data-testid="no-linked-wallets">
              No wallet is linked to this account yet.
            </p>
          )
        ) : (
          <p className="text-sm text-slate-500">Loading…</p>
        )}
        <div>
          <section aria-label="Link a Solana wallet" className="space-y-2">
            <h3 className="text-sm font-medium text-slate-800">Link a Solana wallet</h3>
            <SolanaWalletControl apiKey={apiKey} onDone={onLinked} />
          </section>
          <section aria-label="Link a TON wallet" className="mt-5 space-y-2">
            <h3 className="text-sm font-medium text-slate-800">Link a TON wallet</h3>
            <TonWalletControl apiKey={apiKey} onDone={onLinked} />
          </section>
        </div>
      </div>
    </Card>
  );
}
