/**
 * The account ↔ wallet links of every family (evm, solana, ton), proven by a wallet sign-in
 * (services/wallets.ts SIWE, services/siws.ts, services/ton-proof.ts), and what a sign-in does
 * with a proven wallet:
 *
 * - with an API key (the caller's account): link the wallet to that account — one wallet of each
 *   family per account, so a new one replaces the old; WALLET_IN_USE when another account has it;
 * - without: sign in to the wallet's account, creating it (with the link) on first sign-in;
 *
 * then answer with a new session API key (services/keys.ts `issueSiweSession`).
 *
 * An EVM link is also written to Account.walletAddress in the same transaction: that column stays
 * the on-chain payout address the chain code reads.
 */
import { StunError, type LinkedWalletView, type WalletFamily, type WalletSignInResponse } from "@stun/shared";
import type { AppContext } from "../context";
import { newId } from "../ids";
import { issueSiweSession } from "./keys";

/** A wallet a sign-in has proven control of (address normalized for its family). */
export interface ProvenWallet {
  family: WalletFamily;
  address: string;
  /** `eip155:<chain id>`, `solana:<cluster>`, `ton:<network>`. */
  network: string;
}

const FAMILY_ORDER: Record<string, number> = { evm: 0, solana: 1, ton: 2 };

/** The account a wallet is linked to, if any. */
export async function accountOfWallet(app: AppContext, family: WalletFamily, address: string): Promise<string | undefined> {
  const row = await app.db.prisma.linkedWallet.findUnique({ where: { family_address: { family, address } }, select: { accountId: true } });
  if (row) return row.accountId;
  if (family !== "evm") return undefined;
  // Account.walletAddress is the EVM link's other copy: a holder there holds the wallet too.
  const holder = await app.db.prisma.account.findUnique({ where: { walletAddress: address }, select: { id: true } });
  return holder?.id;
}

/** Every wallet linked to an account, evm then solana then ton. */
export async function walletsOf(app: AppContext, accountId: string): Promise<LinkedWalletView[]> {
  const rows = await app.db.prisma.linkedWallet.findMany({ where: { accountId } });
  return rows
    .sort((a, b) => (FAMILY_ORDER[a.family] ?? 9) - (FAMILY_ORDER[b.family] ?? 9))
    .map((r) => ({ family: r.family as WalletFamily, network: r.network, address: r.address, linkedAt: r.linkedAt.toISOString() }));
}

const inUse = (wallet: ProvenWallet) => new StunError("WALLET_IN_USE", `${wallet.family} wallet ${wallet.address} is already linked to another account`);

/** Links `wallet` to `accountId` (replacing the account's wallet of that family); WALLET_IN_USE when another account has it. */
export async function linkWallet(app: AppContext, accountId: string, wallet: ProvenWallet): Promise<void> {
  const { family, address, network } = wallet;
  const holder = await accountOfWallet(app, family, address);
  if (holder && holder !== accountId) throw inUse(wallet);
  const prisma = app.db.prisma;
  try {
    await prisma.$transaction([
      prisma.linkedWallet.deleteMany({ where: { accountId, family, NOT: { address } } }),
      // Create, never upsert: a wallet another account linked since the check above must fail the
      // unique key here, not be "updated" while it stays the other account's.
      holder === accountId
        ? prisma.linkedWallet.updateMany({ where: { family, address, accountId }, data: { network } })
        : prisma.linkedWallet.create({ data: { family, address, accountId, network } }),
      ...(family === "evm" ? [prisma.account.update({ where: { id: accountId }, data: { walletAddress: address } })] : []),
    ]);
  } catch (e) {
    // A unique key: someone linked this wallet in between (the wallet, or Account.walletAddress),
    // or another wallet of this family was linked to the account at the same moment.
    const now = await accountOfWallet(app, family, address);
    if (now === accountId) return;
    if (now !== undefined) throw inUse(wallet);
    if (!(await app.db.prisma.account.findUnique({ where: { id: accountId }, select: { id: true } }))) throw e;
    throw new StunError("CONFLICT", `another ${family} wallet was being linked to this account at the same time; sign in again`);
  }
}

/** The account linked to `wallet`, created (with the link) when there is none. */
async function accountForWallet(app: AppContext, wallet: ProvenWallet): Promise<{ accountId: string; created: boolean }> {
  const existing = await accountOfWallet(app, wallet.family, wallet.address);
  if (existing) return { accountId: existing, created: false };
  const accountId = newId("acc");
  try {
    await app.db.prisma.account.create({
      data: {
        id: accountId,
        ...(wallet.family === "evm" ? { walletAddress: wallet.address } : {}),
        wallets: { create: { family: wallet.family, address: wallet.address, network: wallet.network } },
      },
    });
    return { accountId, created: true };
  } catch (e) {
    // Two first sign-ins of one wallet at once: the unique wallet lets one win.
    const winner = await accountOfWallet(app, wallet.family, wallet.address);
    if (winner) return { accountId: winner, created: false };
    throw e;
  }
}

/**
 * What every wallet sign-in does once the proof checked out: link the wallet to the caller's
 * account (`callerId`, from an admin API key) or sign in to the wallet's account (created on first
 * sign-in), and answer with a new session API key.
 */
export async function signInWithWallet(app: AppContext, callerId: string | undefined, wallet: ProvenWallet): Promise<WalletSignInResponse> {
  let accountId: string;
  let created = false;
  if (callerId) {
    await linkWallet(app, callerId, wallet);
    accountId = callerId;
  } else {
    ({ accountId, created } = await accountForWallet(app, wallet));
  }
  const apiKey = await issueSiweSession(app, accountId);
  app.log.info({ accountId, family: wallet.family, wallet: wallet.address, network: wallet.network, created, linked: !!callerId }, "signed in with a wallet");
  return { accountId, apiKey, walletAddress: wallet.address, family: wallet.family, network: wallet.network, created };
}
