import { StunError, TeeAttestationViewSchema, TeeEvidenceSchema, type NetworkActivity, type ProviderPublic, type ProviderTee, type Stats } from "@stun/shared";
import type { AppContext } from "../context";
import { isTrusted, newPairTrust } from "../qa/policy";

/** Online providers (across instances: from the database), public fields only. */
export async function listProviders(app: AppContext): Promise<ProviderPublic[]> {
  const rows = await app.db.prisma.provider.findMany({
    where: { online: true },
    orderBy: { createdAt: "asc" },
    take: 1000,
    include: { trust: true },
  });
  return rows.map((p) => {
    const t = p.trust.find((x) => x.backend === p.backend) ?? newPairTrust();
    return {
      id: p.id,
      name: p.name,
      kind: p.kind as ProviderPublic["kind"],
      backend: p.backend as ProviderPublic["backend"],
      region: p.region,
      price: p.price.toString(),
      pricePerUnit: p.pricePerUnit.toString(),
      reputation: p.reputation,
      slots: p.slots,
      load: app.providers.get(p.id)?.active.size ?? 0,
      tasksCompleted: p.tasksCompleted,
      tasksRejected: p.tasksRejected,
      slashed: p.slashed.toString(),
      trust: { trusted: isTrusted(t, app.config.qa), streak: t.streak, checked: t.checked, invalid: t.invalid },
      specs: p.specs as Record<string, unknown>,
      tee: teeViewOf(p.teeAttestation),
    };
  });
}

/** A row's stored attestation, or null (none, or written by something else). */
const teeViewOf = (json: unknown): ProviderPublic["tee"] => {
  const v = TeeAttestationViewSchema.safeParse(json);
  return v.success ? v.data : null;
};

/** A provider's current TEE evidence, for a requester to verify before it seals (docs/TEE.md). */
export async function providerTee(app: AppContext, providerId: string): Promise<ProviderTee> {
  const p = await app.db.prisma.provider.findUnique({ where: { id: providerId }, select: { online: true, teeAttestation: true, teeEvidence: true } });
  if (!p) throw new StunError("NOT_FOUND", `no provider ${providerId}`);
  const attestation = teeViewOf(p.teeAttestation);
  const evidence = TeeEvidenceSchema.safeParse(p.teeEvidence);
  if (!attestation || attestation.status !== "attested" || !evidence.success) {
    throw new StunError("NOT_FOUND", `provider ${providerId} has no accepted TEE evidence${attestation?.reason ? ` (refused: ${attestation.reason.code}: ${attestation.reason.message})` : ""}`);
  }
  return { providerId, online: p.online, attestation, evidence: evidence.data };
}

/** Network totals. */
export async function networkStats(app: AppContext): Promise<Stats> {
  const [providersOnline, byStatus, volume, models] = await Promise.all([
    app.db.prisma.provider.count({ where: { online: true } }),
    app.db.prisma.task.groupBy({ by: ["status"], _count: { _all: true } }),
    app.db.prisma.task.aggregate({ where: { status: "completed" }, _sum: { cost: true } }),
    app.db.prisma.model.count(),
  ]);
  return {
    providersOnline,
    tasks: Object.fromEntries(byStatus.map((r) => [r.status, r._count._all])),
    volume: (volume._sum.cost ?? 0n).toString(),
    models,
  };
}

type ActivityRow = {
  per_minute: Array<{ m: number; submitted: number; completed: number; failed: number }> | null;
  latency: { count: number; p50: number | null; p90: number | null; p99: number | null; max: number | null };
  checks: Record<string, number> | null;
  verdicts: Record<string, number> | null;
  failures: Record<string, number> | null;
};

/**
 * The dashboard's recent activity, in one statement: the window's tasks (created or finished in
 * it) are read once; per-minute buckets, latency percentiles and QA outcome counts are computed
 * from that set, verdict counts from the executions that finished in the window.
 */
export async function networkActivity(app: AppContext, minutes: number): Promise<NetworkActivity> {
  const untilMs = Date.now();
  const sinceMs = Math.floor((untilMs - minutes * 60_000) / 60_000) * 60_000 + 60_000; // whole minutes, current one last
  const since = new Date(sinceMs);
  const rows = await app.db.prisma.$queryRaw<ActivityRow[]>`
    WITH t AS MATERIALIZED (
      SELECT kind, status, "errorCode" AS code, "createdAt" AS created, "completedAt" AS ended, receipt->'qa'->>'check' AS chk
      FROM "Task" WHERE "createdAt" >= ${since} OR "completedAt" >= ${since}
    ), ev AS (
      SELECT floor(extract(epoch FROM (created - ${since}::timestamp)) / 60)::int AS m, 1 AS s, 0 AS c, 0 AS f
        FROM t WHERE kind = 'user' AND created >= ${since}
      UNION ALL
      SELECT floor(extract(epoch FROM (ended - ${since}::timestamp)) / 60)::int, 0, (status = 'completed')::int, (status <> 'completed')::int
        FROM t WHERE kind = 'user' AND ended >= ${since}
    ), done AS (
      SELECT extract(epoch FROM (ended - created)) * 1000 AS ms FROM t WHERE kind = 'user' AND status = 'completed' AND ended >= ${since}
    )
    SELECT
      (SELECT json_agg(json_build_object('m', m, 'submitted', s, 'completed', c, 'failed', f) ORDER BY m)
         FROM (SELECT m, sum(s)::int AS s, sum(c)::int AS c, sum(f)::int AS f FROM ev GROUP BY m) b) AS per_minute,
      (SELECT json_build_object('count', count(*)::int,
                'p50', percentile_cont(0.5) WITHIN GROUP (ORDER BY ms), 'p90', percentile_cont(0.9) WITHIN GROUP (ORDER BY ms),
                'p99', percentile_cont(0.99) WITHIN GROUP (ORDER BY ms), 'max', max(ms)) FROM done) AS latency,
      (SELECT json_object_agg(k, n) FROM (SELECT COALESCE(chk, 'unrecorded') AS k, count(*)::int AS n FROM t
         WHERE status = 'completed' AND ended >= ${since} GROUP BY 1) x) AS checks,
      (SELECT json_object_agg(verdict, n) FROM (SELECT verdict, count(*)::int AS n FROM "Assignment"
         WHERE "completedAt" >= ${since} AND verdict IS NOT NULL GROUP BY 1) y) AS verdicts,
      (SELECT json_object_agg(k, n) FROM (SELECT COALESCE(code, status) AS k, count(*)::int AS n FROM t
         WHERE kind = 'user' AND status IN ('failed', 'expired') AND ended >= ${since} GROUP BY 1) z) AS failures`;
  const r = rows[0]!;
  const buckets = new Map((r.per_minute ?? []).map((b) => [b.m, b]));
  const round = (v: number | null) => (v === null ? null : Math.round(v * 10) / 10);
  return {
    since: since.toISOString(),
    until: new Date(untilMs).toISOString(),
    minutes,
    perMinute: Array.from({ length: minutes }, (_, m) => {
      const b = buckets.get(m);
      return { at: new Date(sinceMs + m * 60_000).toISOString(), submitted: b?.submitted ?? 0, completed: b?.completed ?? 0, failed: b?.failed ?? 0 };
    }),
    latencyMs: { count: r.latency.count, p50: round(r.latency.p50), p90: round(r.latency.p90), p99: round(r.latency.p99), max: round(r.latency.max) },
    checks: r.checks ?? {},
    verdicts: r.verdicts ?? {},
    failures: r.failures ?? {},
  };
}
