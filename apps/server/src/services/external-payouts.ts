/**
 * Payouts of ledger balance to the caller's linked Solana or TON wallet (docs/CHAIN.md): the
 * wallet must be linked (Sign-In With Solana / ton_proof) and proven on the network this server
 * pays out on; the rail's queue debits the balance and pays once (chains/payouts.ts).
 */
import { StunError, type ExternalPayoutRequest, type ExternalPayoutView } from "@stun/shared";
import type { AppContext } from "../context";

/** A linked wallet's network (`solana:<cluster>`, `ton:<-239|-3>`) is the rail's (Solana cluster, TON mainnet/testnet). */
export function sameNetwork(family: "solana" | "ton", linked: string, rail: string): boolean {
  const [prefix, net] = linked.split(":", 2) as [string, string | undefined];
  if (prefix !== family || net === undefined) return false;
  if (family === "solana") return net === rail || (net === "mainnet" && rail === "mainnet-beta");
  return (net === "-239" && rail === "mainnet") || (net === "-3" && rail === "testnet");
}

export async function requestPayout(app: AppContext, accountId: string, input: ExternalPayoutRequest): Promise<ExternalPayoutView> {
  const rail = app.payoutRails[input.family];
  const offered = Object.keys(app.payoutRails);
  if (!rail) {
    throw new StunError("REQUIREMENTS_UNSATISFIABLE", `this server does not pay out on ${input.family} (it does on: ${offered.join(", ") || "none of solana, ton"})`);
  }
  const wallet = await app.db.prisma.linkedWallet.findUnique({ where: { accountId_family: { accountId, family: input.family } } });
  if (!wallet) throw new StunError("WALLET_NOT_LINKED", `link a ${input.family} wallet to this account first (sign in with it while signed in)`);
  if (!sameNetwork(input.family, wallet.network, rail.network)) {
    throw new StunError("WALLET_WRONG_NETWORK", `the linked ${input.family} wallet was proven on ${wallet.network}; this server pays out on ${rail.network}`);
  }
  const { id } = await rail.request(accountId, wallet.address, BigInt(input.amount));
  return (await listPayouts(app, accountId, id))[0]!;
}

/** The caller's payouts on every family (EVM: its withdrawals of deposit), newest first (or the one with `id`). */
export async function listPayouts(app: AppContext, accountId: string, id?: string): Promise<ExternalPayoutView[]> {
  const rows = await app.db.prisma.externalPayout.findMany({ where: { accountId, ...(id ? { id } : {}) }, orderBy: { createdAt: "desc" }, take: 200 });
  return rows.map((r) => ({
    id: r.id,
    family: r.family,
    network: r.network,
    to: r.toAddress,
    amount: r.amount.toString(),
    status: r.status,
    txId: r.txId,
    attempts: r.attempts,
    lastError: r.lastError,
    createdAt: r.createdAt.toISOString(),
    confirmedAt: r.confirmedAt?.toISOString() ?? null,
  }));
}
