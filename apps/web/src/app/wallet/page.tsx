"use client";
import dynamic from "next/dynamic";
import { LoadingCard, PageHeader } from "@/components/ui";

/** wagmi + viem load with this page only. */
const WalletPage = dynamic(() => import("@/wallet/wallet-page"), { ssr: false, loading: () => <LoadingCard label="Loading the wallet" /> });

export default function Wallet() {
  return (
    <>
      <PageHeader
        title="Wallet"
        subtitle="Your browser wallet on this server's chain: balances, deposits to your Stun balance, and sign-in with Ethereum. Nothing leaves this page without your wallet's confirmation."
      />
      <WalletPage />
    </>
  );
}
