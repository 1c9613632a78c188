import { StunError, type AccountView } from "@stun/shared";
import type { AppContext } from "../context";
import { generateApiKey, hashApiKey } from "../auth/api-keys";
import { newId } from "../ids";
import { getBalances, mint } from "../ledger";
import { storageUsage } from "../storage/quota";

export async function createAccount(app: AppContext): Promise<{ accountId: string; apiKey: string }> {
  const accountId = newId("acc");
  const key = generateApiKey();
  await app.db.prisma.$transaction(async (tx) => {
    await tx.account.create({ data: { id: accountId } });
    await tx.apiKey.create({ data: { id: newId("key"), accountId, hash: key.hash, prefix: key.prefix } });
  });
  return { accountId, apiKey: key.key };
}

const AUTH_CACHE_MS = 30_000;
const authCache = new WeakMap<AppContext, Map<string, { accountId: string; until: number }>>();

/** Resolves an API key to its account, or throws UNAUTHORIZED. Cached briefly per server. */
export async function authenticate(app: AppContext, apiKey: string | undefined): Promise<string> {
  if (!apiKey) throw new StunError("UNAUTHORIZED", "missing API key: send Authorization: Bearer <apiKey>");
  const hash = hashApiKey(apiKey);
  let cache = authCache.get(app);
  if (!cache) authCache.set(app, (cache = new Map()));
  const hit = cache.get(hash);
  if (hit && hit.until > Date.now()) return hit.accountId;
  const row = await app.db.prisma.apiKey.findUnique({ where: { hash }, select: { accountId: true, revokedAt: true } });
  if (!row || row.revokedAt) throw new StunError("UNAUTHORIZED", "invalid API key");
  if (cache.size > 10_000) cache.clear();
  cache.set(hash, { accountId: row.accountId, until: Date.now() + AUTH_CACHE_MS });
  return row.accountId;
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
