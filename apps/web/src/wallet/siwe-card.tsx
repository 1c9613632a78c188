"use client";
import { Button, Card, ErrorNotice, Mono, Skeleton } from "@/components/ui";
import { shortAddress, useConnectWallet, useSignInWithEthereum } from "./hooks";
import { WalletScope } from "./scope";

/** Shown when the browser has no EIP-1193 wallet. */
export function NoWalletNotice() {
  return (
    <p className="text-sm text-slate-600" data-testid="no-wallet">
      No browser wallet found. Install an Ethereum wallet extension (MetaMask, Rabby, Frame, …) and reload this page. On a local server, <code className="font-mono text-xs">npm start</code> prints a
      funded demo key to import into it.
    </p>
  );
}

function SiweInner({ onSignedIn }: { onSignedIn: (apiKey: string) => Promise<void> | void }) {
  const wallet = useConnectWallet();
  const siwe = useSignInWithEthereum();
  if (!wallet.injected) return <NoWalletNotice />;
  if (!siwe.address) {
    return (
      <div className="space-y-3 text-sm text-slate-600">
        <p>Prove you control an Ethereum wallet by signing a message (EIP-4361); nothing is sent on chain and it costs nothing. The wallet&apos;s account is created the first time.</p>
        {wallet.error ? <ErrorNotice error={wallet.error} title="The wallet did not connect" /> : null}
        <Button variant="secondary" onClick={wallet.connect} disabled={wallet.pending}>
          {wallet.pending ? "Connecting…" : "Connect wallet"}
        </Button>
      </div>
    );
  }
  return (
    <div className="space-y-3 text-sm text-slate-600">
      <p>
        Connected as <Mono className="text-slate-900">{shortAddress(siwe.address)}</Mono>. Your wallet will ask you to sign a sign-in message for this site; nothing is sent on chain.
      </p>
      {siwe.error ? <ErrorNotice error={siwe.error} title="Sign-in with Ethereum failed" /> : null}
      <Button
        onClick={async () => {
          const out = await siwe.run(null);
          if (out) await onSignedIn(out.apiKey);
        }}
        disabled={siwe.pending}
      >
        {siwe.pending ? "Waiting for the signature…" : "Sign in with Ethereum"}
      </Button>
    </div>
  );
}

/** The sign-in page's "Sign in with Ethereum" card. */
export default function SiweCard({ onSignedIn }: { onSignedIn: (apiKey: string) => Promise<void> | void }) {
  return (
    <Card className="mt-6" title="Sign in with Ethereum">
      <WalletScope fallback={<Skeleton className="h-10 w-full" />}>
        <SiweInner onSignedIn={onSignedIn} />
      </WalletScope>
    </Card>
  );
}
