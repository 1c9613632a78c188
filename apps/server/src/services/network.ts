import type { ProviderPublic, Stats } from "@stun/shared";
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
    reputation: p.reputation,
    slots: p.slots,
    load: app.providers.get(p.id)?.active.size ?? 0,
    tasksCompleted: p.tasksCompleted,
    tasksRejected: p.tasksRejected,
    slashed: p.slashed.toString(),
    trust: { trusted: isTrusted(t, app.config.qa), streak: t.streak, checked: t.checked, invalid: t.invalid },
    specs: p.specs as Record<string, unknown>,
    };
  });
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
