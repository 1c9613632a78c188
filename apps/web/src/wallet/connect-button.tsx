"use client";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useConnection } from "wagmi";
import { buttonClass, cx } from "@/components/ui";
import { shortAddress, useConnectWallet } from "./hooks";
import { WalletScope, useWalletScope } from "./scope";

function Control() {
  const router = useRouter();
  const { address, status, chainId } = useConnection();
  const { connect, pending, error, injected } = useConnectWallet();
  const { chain } = useWalletScope();
  if (status === "connected" && address) {
    const wrongChain = !!chain && chainId !== chain.chainId;
    return (
      <Link
        href="/wallet"
        className="flex items-center gap-2 rounded-lg border border-slate-200 bg-white px-3 py-1.5 text-sm shadow-sm hover:bg-slate-50"
        title={wrongChain ? `Connected to chain ${chainId}; this server settles on ${chain.name} (${chain.chainId})` : `Wallet ${address}`}
      >
        <span aria-hidden className={cx("size-2 rounded-full", wrongChain ? "bg-amber-500" : "bg-sky-500")} />
        <span className="font-mono text-xs text-slate-800" data-testid="nav-wallet">
          {shortAddress(address)}
        </span>
        <span className="sr-only">wallet</span>
      </Link>
    );
  }
  return (
    <button
      type="button"
      className={buttonClass("secondary", "sm")}
      disabled={pending || status === "reconnecting" || status === "connecting"}
      title={error ? `${error.code}: ${error.message}` : injected ? "Connect the wallet of this browser" : "No browser wallet found: see the Wallet page"}
      onClick={() => (injected ? connect() : router.push("/wallet"))}
    >
      {pending ? "Connecting…" : "Connect wallet"}
    </button>
  );
}

/** The nav's wallet control: "Connect wallet", or the connected address (→ /wallet). */
export default function ConnectWalletButton() {
  return (
    <WalletScope fallback={<span className="h-8 w-28" aria-hidden />}>
      <Control />
    </WalletScope>
  );
}
