import { StunError, type AccountView } from "@stun/shared";
import type { AppContext } from "../context";
import { authenticateKey } from "../auth/key-auth";
import { newId } from "../ids";
import { getBalances, mint } from "../ledger";
import { storageUsage } from "../storage/quota";
import { insertKey } from "./keys";

/** A new account and its first key: admin, named "default", never expiring. */
export async function createAccount(app: AppContext): Promise<{ accountId: string; apiKey: string }> {
  const accountId = newId("acc");
  const { apiKey } = await app.db.prisma.$transaction(async (tx) => {
    await tx.account.create({ data: { id: accountId } });
    return insertKey(tx, { accountId, name: "default", scopes: ["admin"], kind: "account" });
  });
  return { accountId, apiKey };
}

/** Resolves an API key to its account (scopes aside: see auth/key-auth.ts `authenticateKey`). */
export async function authenticate(app: AppContext, apiKey: string | undefined): Promise<string> {
  return (await authenticateKey(app, apiKey)).accountId;
}

export async function accountView(app: AppContext, accountId: string): Promise<AccountView> {
  const b = await getBalances(app.db, accountId);
  return { accountId, balance: b.balance.toString(), escrow: b.escrow.toString(), stake: b.stake.toString() };
}

/** GET /accounts/me: the account view with its storage usage and quota. */
export async function accountWithStorage(app: AppContext, accountId: string): Promise<AccountView> {
  const [view, storage] = await Promise.all([accountView(app, accountId), storageUsage(app, accountId)]);
  return { ...view, storage: { usedBytes: storage.usedBytes.toString(), quotaBytes: storage.quotaBytes.toString() } };
}

/** Most the faucet credits per call (balances are PostgreSQL BIGINT: at most ~9.2e18 in all). */
export const FAUCET_MAX = 10n ** 15n;

/** Local mode only: credits the caller from the mint account. */
export async function faucet(app: AppContext, accountId: string, amount: bigint): Promise<AccountView> {
  if (!app.config.local) throw new StunError("NOT_FOUND", "the faucet exists only in local mode");
  if (amount <= 0n) throw new StunError("VALIDATION_FAILED", "amount must be positive");
  if (amount > FAUCET_MAX) throw new StunError("VALIDATION_FAILED", `the faucet gives at most ${FAUCET_MAX} per call`);
  await app.db.prisma.$transaction((tx) => mint(tx, accountId, amount));
  return accountView(app, accountId);
}
