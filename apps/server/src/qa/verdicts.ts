/**
 * What a verdict does to a provider, inside the result transaction: the assignment's verdict, the
 * provider's counters and reputation, its (provider, backend) pair trust, and — for a wrong result
 * — the slash and the re-check of the pair's recent solo results. Policy decisions come from the
 * pure functions in policy.ts and reputation.ts (which bench/qa-sim runs too).
 */
import type { SqlClient } from "../db/database";
import { Prisma } from "../db/generated/client";
import { slash } from "../ledger";
import { queueChainSlash } from "../ledger/chain-stake";
import { DEFAULT_QA_POLICY, afterChecked, newPairTrust, catchResetsSiblings, sharesFate, slashAmount, slashSplit, type PairTrust, type QaPolicy } from "./policy";
import { identityOf, linksOf, loadProviderIdentities, loadSiblingCandidates, pairTrustOf } from "./candidates";
import type { Identity } from "./quorum";
import { addVerdict, reputationScore } from "./reputation";
import { queueRechecks } from "./rechecks";

export interface Judged {
  assignmentId: string;
  taskId: string;
  providerId: string;
  accountId: string;
  backend: string;
  price: bigint;
}

export interface ProviderStats {
  id: string;
  reputation: number;
  tasksCompleted: number;
  tasksRejected: number;
  tasksFailed: number;
}

export interface VerdictEffects {
  stats: ProviderStats;
  slashed: bigint;
  rechecks: number;
}

/** Who was handed a wrong result (a solo result a re-check overturned): refunded from the slash. */
export interface Wronged {
  requesterId: string;
  paid: bigint;
  taskId: string;
}

/**
 * A checked verdict (the result was compared with another execution or a known answer).
 * `verdict` is what the assignment is marked: accepted / rejected, or `overturned` for a solo
 * result a re-check found wrong. `credit: false` (a valid result on a task of the provider's own
 * operator, or agreeing only with that operator's providers) moves neither reputation nor trust.
 */
export async function recordCheckedVerdict(tx: SqlClient, policy: QaPolicy, j: Judged, valid: boolean, opts: { verdict?: string; wronged?: Wronged; credit?: boolean } = {}): Promise<VerdictEffects> {
  const verdict = opts.verdict ?? (valid ? "accepted" : "rejected");
  await tx.$executeRaw`UPDATE "Assignment" SET verdict = ${verdict} WHERE id = ${j.assignmentId}`;
  // A valid result on its own operator's task, or agreeing only with itself, earns nothing (qa/quorum.ts).
  if (valid && opts.credit === false) {
    const [stats] = await tx.$queryRaw<ProviderStats[]>`
      UPDATE "Provider" SET "tasksCompleted" = "tasksCompleted" + 1 WHERE id = ${j.providerId}
      RETURNING id, reputation, "tasksCompleted", "tasksRejected", "tasksFailed"`;
    return { stats: stats!, slashed: 0n, rechecks: 0 };
  }
  const [evidence] = await tx.$queryRaw<Array<{ validWeight: number; invalidWeight: number }>>`
    SELECT "validWeight", "invalidWeight" FROM "Provider" WHERE id = ${j.providerId} FOR NO KEY UPDATE`;
  const next = addVerdict(evidence ?? { validWeight: 0, invalidWeight: 0 }, valid);
  const [stats] = await tx.$queryRaw<ProviderStats[]>`
    UPDATE "Provider"
    SET "validWeight" = ${next.validWeight}, "invalidWeight" = ${next.invalidWeight}, reputation = ${reputationScore(next)},
        "tasksCompleted" = "tasksCompleted" + ${valid ? 1 : 0}, "tasksRejected" = "tasksRejected" + ${valid ? 0 : 1}
    WHERE id = ${j.providerId}
    RETURNING id, reputation, "tasksCompleted", "tasksRejected", "tasksFailed"`;
  const before = await readTrust(tx, j.providerId, j.backend);
  await writeTrust(tx, j.providerId, j.backend, afterChecked(before, valid, policy));
  let slashed = 0n;
  let rechecks = 0;
  if (!valid) {
    slashed = await slashProvider(tx, policy, j, opts.wronged);
    rechecks = await queueRechecks(tx, policy, j.providerId, j.backend);
    if (catchResetsSiblings(before, policy)) await resetSiblings(tx, policy, j.providerId);
  }
  return { stats: stats!, slashed, rechecks };
}

/**
 * A result accepted alone, unchecked: no evidence for reputation. With `solo` (auto mode ran it
 * alone) it joins the pair's solo window, which a re-check looks at if the pair is caught later.
 */
export async function recordSoloVerdict(tx: SqlClient, j: Judged, solo: boolean): Promise<ProviderStats> {
  const v = soloVerdict(j, solo);
  const [stats] = await tx.$queryRaw<ProviderStats[]>`WITH verdict AS (${v.alongside[0]}), trust AS (${v.alongside[1]}) ${v.returning}`;
  return stats!;
}

/**
 * recordSoloVerdict's writes as statements another statement can run beside its own (the
 * settlement's: ledger/transfer.ts `alongside` and `returning`), one round trip fewer: the verdict,
 * the pair's solo count, and the provider's count, whose row (ProviderStats) `returning` gives back.
 * Each writes only where `when` holds (the settlement's own condition, ledger/transfer.ts);
 * `returningAlso` adds columns to the provider's row (`, expr AS name`).
 */
export function soloVerdict(
  j: Judged,
  solo: boolean,
  { when = Prisma.sql`TRUE`, returningAlso = Prisma.empty }: { when?: Prisma.Sql; returningAlso?: Prisma.Sql } = {},
): { alongside: [Prisma.Sql, Prisma.Sql]; returning: Prisma.Sql } {
  const n = solo ? 1 : 0;
  return {
    alongside: [
      Prisma.sql`UPDATE "Assignment" SET verdict = 'accepted', solo = ${solo} WHERE id = ${j.assignmentId} AND ${when}`,
      Prisma.sql`
        INSERT INTO "ProviderTrust" ("providerId", backend, solo, "updatedAt") SELECT ${j.providerId}::text, ${j.backend}::text, ${n}::int, ${new Date()}::timestamp(3) WHERE ${when}
        ON CONFLICT ("providerId", backend) DO UPDATE SET solo = "ProviderTrust".solo + ${n}, "updatedAt" = EXCLUDED."updatedAt"`,
    ],
    returning: Prisma.sql`
      UPDATE "Provider" SET "tasksCompleted" = "tasksCompleted" + 1 WHERE id = ${j.providerId} AND ${when}
      RETURNING id, reputation, "tasksCompleted", "tasksRejected", "tasksFailed"${returningAlso}`,
  };
}

/** An execution's provider and backend: whose pair it is. */
type Pair = Pick<Judged, "providerId" | "backend">;

/**
 * What verdicts on a task's agreeing executions weigh and change, in one statement: each pair's
 * trust (its row locked FOR UPDATE), each provider's evidence (row locked FOR NO KEY UPDATE; the
 * result statement holds it already) and operator identity, and with `requesterId` the requester's
 * wallet links — the judge's audit draw, the credit rule (qa/quorum.ts) and validVerdicts all read
 * here, once.
 */
export interface ReplicaFacts {
  trust(pair: Pair): PairTrust;
  /** Undefined for a provider not read. */
  evidence(providerId: string): { validWeight: number; invalidWeight: number } | undefined;
  identity(providerId: string): Identity | undefined;
  /** The requester's identity, when read. */
  requester?: Identity;
}

/** One pair's row of replica facts, as `readReplicaFacts` (or the result statement, handle-result.ts) reads it. */
export type ReplicaFactRow = {
  id: string;
  backend: string;
  accountId: string;
  links: string[];
  netPrefix: string | null;
  validWeight: number;
  invalidWeight: number;
  requesterLinks: string[] | null;
  streak: number | null;
} & Partial<PairTrust>;

export async function readReplicaFacts(tx: SqlClient, pairs: readonly Pair[], requesterId?: string): Promise<ReplicaFacts> {
  const providerIds = pairs.map((j) => j.providerId);
  const backends = pairs.map((j) => j.backend);
  const rows = await tx.$queryRaw<ReplicaFactRow[]>`
    WITH j AS (SELECT DISTINCT * FROM unnest(${providerIds}::text[], ${backends}::text[]) AS j(id, backend)),
    tr AS MATERIALIZED (
      SELECT t."providerId", t.backend, t.streak, t.solo, t.checked, t.invalid
      FROM "ProviderTrust" t JOIN j ON t."providerId" = j.id AND t.backend = j.backend
      ORDER BY t."providerId", t.backend FOR UPDATE OF t
    )
    SELECT p.id, j.backend, p."accountId", ${linksOf(Prisma.sql`p."accountId"`)} AS links, p."netPrefix", p."validWeight", p."invalidWeight",
           ${requesterId === undefined ? Prisma.sql`NULL::text[]` : linksOf(Prisma.sql`${requesterId}::text`)} AS "requesterLinks",
           tr.streak, tr.solo, tr.checked, tr.invalid
    FROM j JOIN "Provider" p ON p.id = j.id LEFT JOIN tr ON tr."providerId" = j.id AND tr.backend = j.backend
    ORDER BY p.id
    FOR NO KEY UPDATE OF p`;
  return replicaFactsOf(rows, requesterId);
}

/** The facts in `rows` (one per pair read; `requesterLinks` on each when the requester's were read). */
export function replicaFactsOf(rows: readonly ReplicaFactRow[], requesterId?: string): ReplicaFacts {
  const key = (providerId: string, backend: string) => `${providerId}\u0000${backend}`;
  const byPair = new Map(rows.map((r) => [key(r.id, r.backend), r]));
  const byProvider = new Map(rows.map((r) => [r.id, r]));
  const links = rows[0]?.requesterLinks;
  return {
    trust: (p) => {
      const r = byPair.get(key(p.providerId, p.backend));
      return r ? pairTrustOf(r) : newPairTrust();
    },
    evidence: (id) => {
      const r = byProvider.get(id);
      return r && { validWeight: r.validWeight, invalidWeight: r.invalidWeight };
    },
    identity: (id) => {
      const r = byProvider.get(id);
      return r && identityOf(r);
    },
    ...(requesterId !== undefined && links ? { requester: { account: requesterId, links } } : {}),
  };
}

/**
 * Valid verdicts that earn credit, for the agreeing executions of one task at once (an accepted
 * task's replicas, each on a provider of its own): recordCheckedVerdict(valid) for each, as
 * statements another statement runs beside its own (the settlement's: ledger/transfer.ts
 * `alongside` and `returning`), as soloVerdict's are — the verdicts, the pairs' trust, the
 * providers' counters and reputation — computed from what `readReplicaFacts` read (its rows
 * locked; read here when `facts` is not given). Five round trips per execution before.
 * Undefined when a provider has several of the executions (one row each): record them one by one.
 */
export async function validVerdicts(tx: SqlClient, policy: QaPolicy, js: Judged[], facts?: ReplicaFacts): Promise<{ alongside: [Prisma.Sql, Prisma.Sql]; returning: Prisma.Sql } | undefined> {
  const providerIds = js.map((j) => j.providerId);
  if (new Set(providerIds).size !== js.length) return undefined;
  const read = facts && js.every((j) => facts.evidence(j.providerId)) ? facts : await readReplicaFacts(tx, js);
  const backends = js.map((j) => j.backend);
  const next = js.map((j) => {
    const evidence = addVerdict(read.evidence(j.providerId) ?? { validWeight: 0, invalidWeight: 0 }, true);
    return { j, evidence, reputation: reputationScore(evidence), trust: afterChecked(read.trust(j), true, policy) };
  });
  return {
    alongside: [
      Prisma.sql`UPDATE "Assignment" SET verdict = 'accepted' WHERE id = ANY(${js.map((j) => j.assignmentId)}::text[])`,
      Prisma.sql`
        INSERT INTO "ProviderTrust" ("providerId", backend, streak, solo, checked, invalid, "updatedAt")
        SELECT u.id, u.backend, u.streak, u.solo, u.checked, u.invalid, ${new Date()}
        FROM unnest(${providerIds}::text[], ${backends}::text[], ${next.map((n) => n.trust.streak)}::int[], ${next.map((n) => n.trust.solo)}::int[],
                    ${next.map((n) => n.trust.checked)}::int[], ${next.map((n) => n.trust.invalid)}::int[]) AS u(id, backend, streak, solo, checked, invalid)
        ON CONFLICT ("providerId", backend) DO UPDATE
        SET streak = EXCLUDED.streak, solo = EXCLUDED.solo, checked = EXCLUDED.checked, invalid = EXCLUDED.invalid, "updatedAt" = EXCLUDED."updatedAt"`,
    ],
    returning: Prisma.sql`
      UPDATE "Provider" p
      SET "validWeight" = u.vw, "invalidWeight" = u.iw, reputation = u.rep, "tasksCompleted" = p."tasksCompleted" + 1
      FROM unnest(${providerIds}::text[], ${next.map((n) => n.evidence.validWeight)}::float8[], ${next.map((n) => n.evidence.invalidWeight)}::float8[],
                  ${next.map((n) => n.reputation)}::float8[]) AS u(id, vw, iw, rep)
      WHERE p.id = u.id
      RETURNING p.id, p.reputation, p."tasksCompleted", p."tasksRejected", p."tasksFailed"`,
  };
}

/**
 * A trusted pair was caught: the pairs of every provider that shares its fate (its operator's, and
 * by QA_SIBLINGS its network prefix's) lose their streak — checked again like newcomers, without a
 * verdict, slash or re-check of their own (policy.ts afterSiblingCaught).
 */
async function resetSiblings(tx: SqlClient, policy: QaPolicy, providerId: string): Promise<void> {
  const caught = (await loadProviderIdentities(tx, [providerId])).get(providerId);
  if (!caught) return;
  const candidates = await loadSiblingCandidates(tx, caught, providerId, (policy.siblings ?? DEFAULT_QA_POLICY.siblings) === "network");
  const siblings = [...candidates].filter(([, identity]) => sharesFate(caught, identity, policy)).map(([id]) => id);
  if (siblings.length === 0) return;
  // afterSiblingCaught: the streak goes to 0; checked, invalid and the solo window stay.
  await tx.$executeRaw`
    UPDATE "ProviderTrust" SET streak = 0, "updatedAt" = ${new Date()} WHERE "providerId" = ANY(${siblings}::text[]) AND streak > 0`;
}

async function readTrust(tx: SqlClient, providerId: string, backend: string): Promise<PairTrust> {
  const [row] = await tx.$queryRaw<PairTrust[]>`
    SELECT streak, solo, checked, invalid FROM "ProviderTrust" WHERE "providerId" = ${providerId} AND backend = ${backend} FOR UPDATE`;
  return row ?? newPairTrust();
}

async function writeTrust(tx: SqlClient, providerId: string, backend: string, t: PairTrust): Promise<void> {
  await tx.$executeRaw`
    INSERT INTO "ProviderTrust" ("providerId", backend, streak, solo, checked, invalid, "updatedAt")
    VALUES (${providerId}, ${backend}, ${t.streak}, ${t.solo}, ${t.checked}, ${t.invalid}, ${new Date()})
    ON CONFLICT ("providerId", backend) DO UPDATE
    SET streak = EXCLUDED.streak, solo = EXCLUDED.solo, checked = EXCLUDED.checked, invalid = EXCLUDED.invalid, "updatedAt" = EXCLUDED."updatedAt"`;
}

/**
 * Takes slashMultiple × the execution's price (at least minSlash, at most the stake) from the
 * provider's account stake: to the wronged requester what it paid, the rest to the treasury. Stake
 * counted from the chain goes first and is slashed on chain as well (ledger/chain-stake.ts).
 */
async function slashProvider(tx: SqlClient, policy: QaPolicy, j: Judged, wronged: Wronged | undefined): Promise<bigint> {
  // FOR UPDATE: a claim reading this stake (FOR KEY SHARE, qa/candidates.ts) waits for the slash.
  const [acc] = await tx.$queryRaw<Array<{ stake: bigint }>>`SELECT stake FROM "Account" WHERE id = ${j.accountId} FOR UPDATE`;
  const amount = slashAmount(j.price, BigInt(acc?.stake ?? 0n), policy);
  if (amount <= 0n) return 0n;
  const split = slashSplit(amount, wronged?.paid ?? 0n);
  await slash(tx, j.accountId, amount, {
    toTreasury: split.toTreasury,
    ...(split.toRequester > 0n ? { toAccountId: wronged!.requesterId } : {}),
    taskId: wronged?.taskId ?? j.taskId,
  });
  // The part backed by on-chain stake is executed on chain too (chain/slashes.ts).
  await queueChainSlash(tx, {
    accountId: j.accountId,
    amount,
    toRequester: split.toRequester,
    ...(wronged ? { requesterId: wronged.requesterId } : {}),
    taskId: wronged?.taskId ?? j.taskId,
  });
  await tx.$executeRaw`UPDATE "Provider" SET slashed = slashed + ${amount} WHERE id = ${j.providerId}`;
  return amount;
}
