import { Prisma } from "../db/generated/client";
import type { SqlClient } from "../db/database";
import { LIVE_STATUS_IN } from "../tasks/statuses";
import { newPairTrust, type PairTrust } from "./policy";
import type { Identity } from "./quorum";

/**
 * The wallet addresses tied to the account in column `account` (lower-case), of every chain family:
 * its signed-in wallets (Sign-In with Ethereum, Solana, TON: LinkedWallet), the senders of its
 * deposits and the destinations of its withdrawals and payouts, on every family (ExternalDeposit,
 * ExternalPayout) (qa/quorum.ts: accounts that share one are one operator). An SQL expression.
 */
export const linksOf = (account: Prisma.Sql): Prisma.Sql => Prisma.sql`
  ARRAY(SELECT DISTINCT lower(x) FROM (
    SELECT la."walletAddress" AS x FROM "Account" la WHERE la.id = ${account}
    UNION ALL SELECT l.address FROM "LinkedWallet" l WHERE l."accountId" = ${account}
    UNION ALL SELECT e."fromAddress" FROM "ExternalDeposit" e WHERE e."accountId" = ${account} AND e."fromAddress" NOT IN ('', 'unknown')
    UNION ALL SELECT o."toAddress" FROM "ExternalPayout" o WHERE o."accountId" = ${account}
  ) s WHERE x IS NOT NULL)`;

/** The accounts tied to any of `links` (lower-case): linksOf read backwards, for the sibling search. */
const accountsLinkedTo = (links: string[]): Prisma.Sql => Prisma.sql`
  SELECT a.id FROM "Account" a WHERE lower(a."walletAddress") = ANY(${links}::text[])
  UNION SELECT l."accountId" FROM "LinkedWallet" l WHERE lower(l.address) = ANY(${links}::text[])
  UNION SELECT e."accountId" FROM "ExternalDeposit" e WHERE e."accountId" IS NOT NULL AND lower(e."fromAddress") = ANY(${links}::text[])
  UNION SELECT o."accountId" FROM "ExternalPayout" o WHERE lower(o."toAddress") = ANY(${links}::text[])`;

/** The operators (account and wallet links) of providers, by provider id. The network prefix is the caller's to add. */
export async function loadProviderIdentities(tx: SqlClient, providerIds: readonly string[]): Promise<Map<string, Identity>> {
  if (providerIds.length === 0) return new Map();
  const rows = await tx.$queryRaw<Array<{ id: string; accountId: string; links: string[]; netPrefix: string | null }>>`
    SELECT p.id, p."accountId", ${linksOf(Prisma.sql`p."accountId"`)} AS links, p."netPrefix"
    FROM "Provider" p WHERE p.id = ANY(${[...providerIds]}::text[])`;
  return new Map(rows.map((r) => [r.id, identityOf(r)]));
}

/** A pair's record as a LEFT JOIN on ProviderTrust reads it: a new pair's where the pair has no row (`streak` null). */
export const pairTrustOf = (r: { streak: number | null; solo?: number | null; checked?: number | null; invalid?: number | null }): PairTrust =>
  r.streak === null ? newPairTrust() : { streak: r.streak, solo: r.solo ?? 0, checked: r.checked ?? 0, invalid: r.invalid ?? 0 };

export const identityOf = (r: { accountId: string; links: string[]; netPrefix: string | null }): Identity => ({
  account: r.accountId,
  links: r.links,
  ...(r.netPrefix ? { net: r.netPrefix } : {}),
});

/**
 * The providers that share fate with one just caught (policy.ts sharesFate): its operator's other
 * providers (its account, accounts sharing a wallet link) and, by `network`, those last seen on its
 * network prefix — each with its identity, for the pure rule to decide.
 */
export async function loadSiblingCandidates(tx: SqlClient, caught: Identity, providerId: string, network: boolean): Promise<Map<string, Identity>> {
  const links = [...caught.links];
  const rows = await tx.$queryRaw<Array<{ id: string; accountId: string; links: string[]; netPrefix: string | null }>>`
    SELECT p.id, p."accountId", ${linksOf(Prisma.sql`p."accountId"`)} AS links, p."netPrefix"
    FROM "Provider" p
    WHERE p.id <> ${providerId} AND (
      p."accountId" = ${caught.account}
      OR (${network} AND p."netPrefix" IS NOT NULL AND p."netPrefix" = ${caught.net ?? null})
      OR p."accountId" IN (${accountsLinkedTo(links)}))`;
  return new Map(rows.map((r) => [r.id, identityOf(r)]));
}

/**
 * A task's requester (its account's wallet links) and providers as operators, in one statement:
 * whether a valid result earns credit (qa/quorum.ts earnsCredit) weighs both.
 */
export async function loadRequesterAndProviderIdentities(tx: SqlClient, requesterId: string, providerIds: readonly string[]): Promise<{ requester: Identity; providers: Map<string, Identity> }> {
  const rows = await tx.$queryRaw<Array<{ id: string | null; accountId: string; links: string[]; netPrefix: string | null }>>`
    SELECT NULL::text AS id, ${requesterId}::text AS "accountId", ${linksOf(Prisma.sql`${requesterId}::text`)} AS links, NULL::text AS "netPrefix"
    UNION ALL
    SELECT p.id, p."accountId", ${linksOf(Prisma.sql`p."accountId"`)} AS links, p."netPrefix"
    FROM "Provider" p WHERE p.id = ANY(${[...providerIds]}::text[])`;
  const requester = rows.find((r) => r.id === null);
  return {
    requester: { account: requesterId, links: requester?.links ?? [] },
    providers: new Map(rows.flatMap((r) => (r.id === null ? [] : [[r.id, identityOf(r)] as const]))),
  };
}

/** What the dispatcher needs to know of a candidate provider beyond the live registry. */
export interface CandidateFacts {
  /** Its (provider, current backend) pair's record. */
  trust: PairTrust;
  /** Its account's stake, and the prices of the account's live executions. */
  stake: bigint;
  atRisk: bigint;
  /** Its operator: account and wallet links, and the network prefix it last connected from. */
  identity: Identity;
}

type Row = {
  id: string;
  accountId: string;
  links: string[];
  netPrefix: string | null;
  streak: number | null;
  solo: number | null;
  checked: number | null;
  invalid: number | null;
  stake: bigint;
  atRisk: bigint | null;
};

/**
 * One statement for all candidates: pair trust, account stake and value at risk, operator identity. Read inside the
 * claiming transaction so the decision uses the committed record (another instance may have just
 * reset a pair), and so the executions this transaction inserted count as at risk. The account
 * rows are key-share-locked: a stake change (stake, unstake, slash: FOR UPDATE) waits for this
 * claim, and then counts the executions it added; a claim waits for a stake change and reads the
 * new stake. Settlements' credits (FOR NO KEY UPDATE) neither wait for claims nor make them wait:
 * with FOR SHARE, a claim and a result batch crediting the same providers took turns, or deadlocked.
 */
export async function loadCandidateFacts(tx: SqlClient, providerIds: string[]): Promise<Map<string, CandidateFacts>> {
  if (providerIds.length === 0) return new Map();
  const rows = await tx.$queryRaw<Row[]>`
    SELECT p.id, p."accountId", ${linksOf(Prisma.sql`p."accountId"`)} AS links, p."netPrefix", t.streak, t.solo, t.checked, t.invalid, acc.stake,
           (SELECT SUM(a.price) FROM "Assignment" a JOIN "Provider" q ON q.id = a."providerId"
            WHERE q."accountId" = p."accountId" AND a.status ${LIVE_STATUS_IN}) AS "atRisk"
    FROM "Provider" p
    JOIN "Account" acc ON acc.id = p."accountId"
    LEFT JOIN "ProviderTrust" t ON t."providerId" = p.id AND t.backend = p.backend
    WHERE p.id = ANY(${providerIds}::text[])
    FOR KEY SHARE OF acc`;
  return new Map(
    rows.map((r) => [
      r.id,
      {
        trust: pairTrustOf(r),
        stake: BigInt(r.stake),
        atRisk: BigInt(r.atRisk ?? 0),
        identity: identityOf(r),
      },
    ]),
  );
}
