"use client";
import type { Adapter } from "@solana/wallet-adapter-base";
import { WalletProvider, useWallet } from "@solana/wallet-adapter-react";
import type { ReactNode } from "react";
import { base58 } from "@scure/base";
import { Buffer } from "buffer";
import { Connection, PublicKey, Transaction, TransactionInstruction } from "@solana/web3.js";
import type { SiweNonceResponse, SolanaDepositInfo, WalletSignInResponse } from "@stun/shared";
import { Button, ErrorNotice } from "@/components/ui";
import { rest } from "@/lib/rest";
import { useWalletSignIn } from "./wallet-sign-in";

/** No adapters of our own: wallet-standard Solana wallets (Phantom, Solflare, Backpack, …) are discovered by the provider. */
const NO_ADAPTERS: Adapter[] = [];

/** Solana wallets for the components inside (the wallet adapter's provider; nothing connects until asked). */
export function SolanaScope({ children }: { children: ReactNode }) {
  return (
    <WalletProvider wallets={NO_ADAPTERS} autoConnect={false} localStorageKey="stun.solanaWallet">
      {children}
    </WalletProvider>
  );
}

/** The cluster a Sign-In With Solana message names (the server's SIWS_NETWORKS must include it). */
export const SIWS_CHAIN = "mainnet";

export interface SiwsFields {
  domain: string;
  address: string;
  statement: string;
  uri: string;
  chainId: string;
  nonce: string;
  issuedAt: string;
  expirationTime: string;
}

/** The wallet-standard `solana:signIn` message text (@solana/wallet-standard-util's createSignInMessageText format). */
export function siwsMessageText(f: SiwsFields): string {
  return [
    `${f.domain} wants you to sign in with your Solana account:\n${f.address}`,
    f.statement,
    [`URI: ${f.uri}`, "Version: 1", `Chain ID: ${f.chainId}`, `Nonce: ${f.nonce}`, `Issued At: ${f.issuedAt}`, `Expiration Time: ${f.expirationTime}`].join("\n"),
  ].join("\n\n");
}

const base64 = (bytes: Uint8Array): string => btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(""));

/**
 * Sign-In With Solana with one wallet: a nonce from the server, then the wallet's `solana:signIn`
 * (it writes and signs the message) when it has the feature, else connect + `signMessage` of the
 * message this app writes. With `apiKey` the wallet is linked to that account, without it signs in.
 */
export function useSignInWithSolana() {
  return useWalletSignIn(async (adapter: Adapter, apiKey: string | null): Promise<WalletSignInResponse> => {
    const { nonce } = await rest<SiweNonceResponse>("POST", "/auth/siws/nonce", { key: null });
    const input = {
      domain: window.location.host,
      statement: apiKey ? "Link this wallet to my Stun account." : "Sign in to Stun with this wallet.",
      uri: window.location.origin,
      version: "1",
      chainId: SIWS_CHAIN,
      nonce,
      issuedAt: new Date().toISOString(),
      expirationTime: new Date(Date.now() + 10 * 60_000).toISOString(),
    };
    let body: { message: string; signature: string; publicKey: string };
    if ("signIn" in adapter && typeof adapter.signIn === "function") {
      const out = await adapter.signIn(input);
      const publicKey = adapter.publicKey?.toBase58();
      if (!publicKey) throw new Error("the wallet signed in without sharing its account");
      body = { message: new TextDecoder().decode(out.signedMessage), signature: base64(out.signature), publicKey };
    } else {
      // A Wallet Standard adapter offers signMessage once connected (its account lists the feature).
      if (!adapter.connected) await adapter.connect();
      const address = adapter.publicKey?.toBase58();
      if (!address) throw new Error("the wallet did not share an account");
      if (!("signMessage" in adapter) || typeof adapter.signMessage !== "function") throw new Error(`${adapter.name} can neither sign in nor sign messages`);
      const message = siwsMessageText({ ...input, address });
      const signature = await adapter.signMessage(new TextEncoder().encode(message));
      body = { message, signature: base64(signature), publicKey: address };
    }
    return await rest<WalletSignInResponse>("POST", "/auth/siws/verify", { key: apiKey, body: JSON.stringify(body), contentType: "application/json" });
  });
}

/**
 * "Sign in with Solana" (no `apiKey`) or "Link a Solana wallet" (`apiKey`): one button per
 * wallet-standard Solana wallet in this browser. `onDone` gets the server's answer.
 */
export function SolanaWalletControl({ apiKey, onDone }: { apiKey: string | null; onDone: (out: WalletSignInResponse) => Promise<void> | void }) {
  const { wallets } = useWallet();
  const siws = useSignInWithSolana();
  const usable = wallets.filter((w) => w.readyState === "Installed" || w.readyState === "Loadable");
  const verb = apiKey ? "Link" : "Sign in with";
  return (
    <div className="space-y-3 text-sm text-slate-600" data-testid="solana-wallets">
      {usable.length === 0 ? (
        <p data-testid="no-solana-wallet">No Solana wallet found in this browser. Install one that supports the Wallet Standard (Phantom, Solflare, Backpack, …) and reload this page.</p>
      ) : (
        <div className="flex flex-wrap gap-2">
          {usable.map((w) => (
            <Button
              key={w.adapter.name}
              variant={apiKey ? "secondary" : "primary"}
              disabled={siws.pending}
              onClick={async () => {
                const out = await siws.run(w.adapter, apiKey);
                if (out) await onDone(out);
              }}
            >
              {siws.pending ? "Waiting for the wallet…" : `${verb} ${w.adapter.name}`}
            </Button>
          ))}
        </div>
      )}
      {siws.error ? <ErrorNotice error={siws.error} title={apiKey ? "Linking the Solana wallet failed" : "Sign-in with Solana failed"} /> : null}
    </div>
  );
}

const ASSOCIATED_TOKEN_PROGRAM = new PublicKey("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL");
/** SPL Memo v2 (the server reads v1 and v2). */
const MEMO_PROGRAM = new PublicKey("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr");

/** The owner's associated token account for the deposit mint (where a wallet holds that token), under the mint's token program. */
export function associatedTokenAccount(owner: PublicKey, info: Pick<SolanaDepositInfo, "mint" | "tokenProgram">): PublicKey {
  return PublicKey.findProgramAddressSync([owner.toBytes(), new PublicKey(info.tokenProgram).toBytes(), new PublicKey(info.mint).toBytes()], ASSOCIATED_TOKEN_PROGRAM)[0];
}

/**
 * The deposit transaction's instructions: a `TransferChecked` of `amount` base units, by the mint's
 * token program (SPL Token or Token-2022, which refuses a plain `Transfer` for fee-bearing mints),
 * from the owner's token account to the marketplace's deposit token account, and a Memo naming the account.
 */
export function depositInstructions(owner: PublicKey, info: SolanaDepositInfo, amount: bigint): TransactionInstruction[] {
  const data = new Uint8Array(10);
  data[0] = 12; // TransferChecked
  new DataView(data.buffer).setBigUint64(1, amount, true);
  data[9] = info.decimals;
  const transfer = new TransactionInstruction({
    programId: new PublicKey(info.tokenProgram),
    keys: [
      { pubkey: associatedTokenAccount(owner, info), isSigner: false, isWritable: true },
      { pubkey: new PublicKey(info.mint), isSigner: false, isWritable: false },
      { pubkey: new PublicKey(info.depositAccount), isSigner: false, isWritable: true },
      { pubkey: owner, isSigner: true, isWritable: false },
    ],
    data: Buffer.from(data),
  });
  const memo = new TransactionInstruction({ programId: MEMO_PROGRAM, keys: [], data: Buffer.from(new TextEncoder().encode(info.memo)) });
  return [transfer, memo];
}

/**
 * The owner's balance of the deposit token (base units, from its associated token account through
 * the server's RPC); 0 when it has no token account yet.
 */
export async function solanaTokenBalance(info: SolanaDepositInfo, owner: PublicKey): Promise<bigint> {
  try {
    const { value } = await new Connection(info.rpcUrl, "confirmed").getTokenAccountBalance(associatedTokenAccount(owner, info));
    return BigInt(value.amount);
  } catch (e) {
    if (/could not find account/i.test((e as Error).message)) return 0n;
    throw e;
  }
}

/** The wallet-standard features a deposit uses (the shapes of @solana/wallet-standard-features). */
interface StandardAccount {
  address: string;
}
interface StandardSolanaWallet {
  accounts: readonly StandardAccount[];
  features: {
    "solana:signAndSendTransaction"?: { signAndSendTransaction(input: { account: StandardAccount; chain: string; transaction: Uint8Array }): Promise<readonly { signature: Uint8Array }[]> };
    "solana:signTransaction"?: { signTransaction(input: { account: StandardAccount; chain: string; transaction: Uint8Array }): Promise<readonly { signedTransaction: Uint8Array }[]> };
  };
}

/** The wallet-standard chain of a server's cluster (`mainnet-beta` is `solana:mainnet`). */
export const solanaChainOf = (network: string): string => `solana:${network === "mainnet-beta" ? "mainnet" : network}`;

/**
 * Deposits from a Solana wallet: connects it, builds the transfer + memo on a recent blockhash from
 * the server's RPC, has the wallet-standard wallet sign it for the server's cluster (signAndSend
 * when it offers it, else signTransaction and this page sends it). Resolves to the signature.
 */
export async function depositFromSolanaWallet(adapter: Adapter, info: SolanaDepositInfo, amount: bigint): Promise<string> {
  if (!adapter.connected) await adapter.connect();
  const owner = adapter.publicKey;
  if (!owner) throw new Error("the wallet did not share an account");
  const connection = new Connection(info.rpcUrl, "confirmed");
  const { blockhash, lastValidBlockHeight } = await connection.getLatestBlockhash();
  const tx = new Transaction({ feePayer: owner, blockhash, lastValidBlockHeight }).add(...depositInstructions(owner, info, amount));
  const standard = "wallet" in adapter ? (adapter.wallet as StandardSolanaWallet) : undefined;
  const account = standard?.accounts.find((a) => a.address === owner.toBase58());
  // Not a wallet-standard wallet: the adapter's own send (it names the cluster from the RPC URL).
  if (!standard || !account) return await adapter.sendTransaction(tx, connection);
  const chain = solanaChainOf(info.network);
  const transaction = new Uint8Array(tx.serialize({ requireAllSignatures: false, verifySignatures: false }));
  const signAndSend = standard.features["solana:signAndSendTransaction"];
  if (signAndSend) {
    const [out] = await signAndSend.signAndSendTransaction({ account, chain, transaction });
    if (!out) throw new Error("the wallet sent no transaction");
    return base58.encode(out.signature);
  }
  const sign = standard.features["solana:signTransaction"];
  if (!sign) throw new Error(`${adapter.name} can neither sign nor send transactions`);
  const [out] = await sign.signTransaction({ account, chain, transaction });
  if (!out) throw new Error("the wallet signed no transaction");
  return await connection.sendRawTransaction(out.signedTransaction, { preflightCommitment: "confirmed" });
}
