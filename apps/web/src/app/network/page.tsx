"use client";
import { useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import type { ProviderPublic } from "@stun/shared";
import { BarList, Donut, Percentiles, ThroughputChart, type Segment } from "@/components/charts";
import { SignedIn } from "@/components/signed-in";
import { Badge, Card, EmptyState, ErrorNotice, LoadingCard, Mono, PageHeader, Stat, Table, cx, td } from "@/components/ui";
import { toUiError } from "@/lib/errors";
import { formatAmount, formatMs } from "@/lib/format";
import { trpc } from "@/lib/trpc";

const REFRESH_MS = 3_000;

const BACKEND_COLOR: Record<string, string> = { webgpu: "bg-violet-500", wasm: "bg-sky-500", cuda: "bg-emerald-500", cpu: "bg-brand-500" };

const CHECK_SEGMENTS: Array<Omit<Segment, "value"> & { key: string }> = [
  { key: "replicated", label: "replicated", stroke: "stroke-emerald-500", swatch: "bg-emerald-500" },
  { key: "audit", label: "audited", stroke: "stroke-teal-400", swatch: "bg-teal-400" },
  { key: "solo", label: "solo (trusted)", stroke: "stroke-brand-500", swatch: "bg-brand-500" },
  { key: "referee", label: "referee (server checked)", stroke: "stroke-cyan-600", swatch: "bg-cyan-600" },
  { key: "single", label: "single (allowed unchecked)", stroke: "stroke-sky-400", swatch: "bg-sky-400" },
  { key: "unverified", label: "unverified (mode none)", stroke: "stroke-slate-400", swatch: "bg-slate-400" },
  { key: "known-answer", label: "canary (known answer)", stroke: "stroke-amber-400", swatch: "bg-amber-400" },
  { key: "recheck", label: "re-check", stroke: "stroke-violet-400", swatch: "bg-violet-400" },
];

function countBy(providers: ProviderPublic[], key: (p: ProviderPublic) => string) {
  const m = new Map<string, number>();
  for (const p of providers) m.set(key(p), (m.get(key(p)) ?? 0) + 1);
  return [...m];
}

/** What the server made of a provider's TEE evidence: attested (SIMULATED said loudly) or refused with the reason. */
export function TeeAttestation({ tee }: { tee: ProviderPublic["tee"] }) {
  if (!tee) return <span className="text-slate-400">–</span>;
  if (tee.status === "refused") {
    return (
      <span className="flex flex-col gap-0.5" data-testid="tee-attestation" data-status="refused">
        <span>
          <Badge tone="red">refused</Badge> <span className="text-xs text-slate-500">{tee.kind}</span>
        </span>
        {tee.reason ? (
          <span className="max-w-64 whitespace-normal text-xs text-red-700" title={tee.reason.message}>
            <code className="font-mono">{tee.reason.code}</code> {tee.reason.message}
          </span>
        ) : null}
      </span>
    );
  }
  return (
    <span
      className="flex flex-col gap-0.5"
      data-testid="tee-attestation"
      data-status="attested"
      title={`evidence sha256 ${tee.evidenceSha256}${tee.measurement ? ` · measurement ${tee.measurement}` : ""}`}
    >
      <span>
        <Badge tone="green">attested</Badge> <span className="text-xs text-slate-500">{tee.kind}</span>
      </span>
      {tee.simulated ? (
        <Badge tone="amber" className="whitespace-normal">
          SIMULATED TEE — development only, proves nothing
        </Badge>
      ) : tee.tcbStatus ? (
        <span className="text-xs text-slate-500">TCB {tee.tcbStatus}</span>
      ) : null}
    </span>
  );
}

function useNow(ms: number) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

function Dashboard() {
  const opts = { refetchInterval: REFRESH_MS, refetchIntervalInBackground: false } as const;
  const stats = useQuery({ queryKey: ["network.stats"], queryFn: () => trpc.network.stats.query(), ...opts });
  const providers = useQuery({ queryKey: ["network.providers"], queryFn: () => trpc.network.providers.query(), ...opts });
  const activity = useQuery({ queryKey: ["network.activity"], queryFn: () => trpc.network.activity.query({ minutes: 60 }), ...opts });
  const now = useNow(1_000);

  const error = stats.error ?? providers.error ?? activity.error;
  if (error && !(stats.data && providers.data && activity.data)) {
    return <ErrorNotice error={toUiError(error)} title="Could not load the network" onRetry={() => void Promise.all([stats.refetch(), providers.refetch(), activity.refetch()])} />;
  }
  if (!stats.data || !providers.data || !activity.data) return <LoadingCard label="Loading the network" rows={6} />;

  const s = stats.data;
  const ps = providers.data.providers;
  const a = activity.data;
  const totalTasks = Object.values(s.tasks).reduce((x, y) => x + y, 0);
  const updated = Math.max(stats.dataUpdatedAt, providers.dataUpdatedAt, activity.dataUpdatedAt);
  const perMin = a.perMinute.slice(-5).reduce((x, b) => x + b.completed, 0) / 5;
  const verdictTotal = Object.values(a.verdicts).reduce((x, y) => x + y, 0);
  const checks: Segment[] = CHECK_SEGMENTS.map((c) => ({ ...c, value: a.checks[c.key] ?? 0 })).filter((c) => c.value > 0 || ["replicated", "solo", "single"].includes(c.key));
  const freeSlots = ps.reduce((x, p) => x + Math.max(0, p.slots - p.load), 0);

  return (
    <div className="space-y-6">
      <p className="flex items-center gap-2 text-xs text-slate-500" role="status" aria-live="off">
        <span aria-hidden className={cx("size-2 rounded-full", error ? "bg-amber-500" : "live-dot bg-emerald-500")} />
        {error ? "Reconnecting…" : "Live"} · updated {Math.max(0, Math.round((now - updated) / 1000))} s ago
      </p>
      <dl className="grid grid-cols-2 gap-4 lg:grid-cols-5">
        <Stat label="Providers online" value={<span data-testid="providers-online">{s.providersOnline}</span>} hint={`${freeSlots} free slot${freeSlots === 1 ? "" : "s"}`} />
        <Stat label="Tasks per minute" value={perMin.toFixed(1)} hint="completed, last 5 min" />
        <Stat label="Tasks" value={formatAmount(String(totalTasks))} hint={`${formatAmount(String(s.tasks.completed ?? 0))} completed`} />
        <Stat label="Volume" value={formatAmount(s.volume)} hint="base units settled" />
        <Stat label="Models" value={s.models} />
      </dl>

      <Card title={`Throughput · last ${a.minutes} minutes`} id="throughput">
        <ThroughputChart points={a.perMinute} />
      </Card>

      <div className="grid gap-6 lg:grid-cols-3">
        <Card title="Providers by backend" id="by-backend">
          <BarList
            label="Providers by backend"
            items={countBy(ps, (p) => p.backend).map(([label, value]) => ({ label, value, color: BACKEND_COLOR[label] ?? "bg-brand-500" }))}
            empty="No provider online"
          />
        </Card>
        <Card title="Providers by region" id="by-region">
          <BarList label="Providers by region" items={countBy(ps, (p) => p.region).map(([label, value]) => ({ label, value, color: "bg-sky-500" }))} empty="No provider online" />
        </Card>
        <Card title="Latency · submit → result" id="latency">
          <Percentiles
            values={[
              ["p50", a.latencyMs.p50],
              ["p90", a.latencyMs.p90],
              ["p99", a.latencyMs.p99],
            ]}
            format={formatMs}
          />
          <p className="mt-3 text-xs text-slate-500">
            {a.latencyMs.count} task{a.latencyMs.count === 1 ? "" : "s"} completed in the last {a.minutes} min{a.latencyMs.max !== null ? `, slowest ${formatMs(a.latencyMs.max)}` : ""}.
          </p>
        </Card>
      </div>

      <div className="grid gap-6 lg:grid-cols-2">
        <Card title="Verification · how results were checked" id="checks">
          <Donut label="Completed tasks by QA check" segments={checks} />
        </Card>
        <Card title="Execution verdicts" id="verdicts">
          <BarList
            keepOrder
            label="Executions by verdict"
            items={[
              { label: "accepted", value: a.verdicts.accepted ?? 0, color: "bg-emerald-500" },
              { label: "rejected", value: a.verdicts.rejected ?? 0, color: "bg-red-500" },
              { label: "inconclusive", value: a.verdicts.inconclusive ?? 0, color: "bg-amber-400" },
              { label: "late", value: a.verdicts.late ?? 0, color: "bg-slate-400" },
            ]}
          />
          <p className="mt-3 text-xs text-slate-500">
            {verdictTotal} judged execution{verdictTotal === 1 ? "" : "s"} in the last {a.minutes} min
            {Object.keys(a.failures).length
              ? ` · tasks ended without a result: ${Object.entries(a.failures)
                  .map(([k, v]) => `${k} ${v}`)
                  .join(", ")}`
              : ""}
            .
          </p>
        </Card>
      </div>

      <Card title={`Providers online (${ps.length})`} id="providers">
        {ps.length === 0 ? (
          <EmptyState title="No provider is online">
            Start one with <Mono>npm start</Mono>, the <Mono>stun-provider</Mono> agent, or the Contribute tab in a browser.
          </EmptyState>
        ) : (
          <Table head={["Provider", "Backend", "Region", "Price", "Reputation", "Trust", "TEE", "Load", "Results", "Slashed"]} caption="Providers online">
            {ps.map((p) => (
              <tr key={p.id}>
                <td className={td}>
                  <span className="block font-medium text-slate-900">{p.name}</span>
                  <Mono className="text-xs text-slate-400">{p.id}</Mono>
                </td>
                <td className={td}>
                  <Badge tone={p.backend === "webgpu" ? "violet" : p.backend === "wasm" ? "blue" : p.backend === "cuda" ? "green" : "indigo"}>{p.backend}</Badge>
                  <span className="ml-1.5 text-xs text-slate-500">{p.kind}</span>
                </td>
                <td className={td}>{p.region}</td>
                <td className={cx(td, "tabular-nums")}>{formatAmount(p.price)}</td>
                <td className={td}>
                  <span className="flex items-center gap-2" title="Lower confidence bound on the valid rate of its checked results">
                    <span className="h-1.5 w-12 rounded-full bg-slate-100" aria-hidden>
                      <span className="block h-1.5 rounded-full bg-emerald-500" style={{ width: `${Math.round(p.reputation * 100)}%` }} />
                    </span>
                    <span className="tabular-nums">{p.reputation.toFixed(2)}</span>
                  </span>
                </td>
                <td className={td} title={`${p.trust.streak} valid in a row · ${p.trust.checked} checked · ${p.trust.invalid} invalid`}>
                  {p.trust.trusted ? <Badge tone="green">trusted</Badge> : <Badge>new</Badge>}
                  <span className="ml-1.5 text-xs tabular-nums text-slate-500">
                    {p.trust.checked} checked{p.trust.invalid ? `, ${p.trust.invalid} bad` : ""}
                  </span>
                </td>
                <td className={td}>
                  <TeeAttestation tee={p.tee} />
                </td>
                <td className={cx(td, "tabular-nums")}>
                  {p.load}/{p.slots}
                </td>
                <td className={cx(td, "tabular-nums")}>
                  <span className="text-emerald-700">{p.tasksCompleted} ✓</span> <span className={p.tasksRejected ? "text-red-700" : "text-slate-400"}>{p.tasksRejected} ✕</span>
                </td>
                <td className={cx(td, "tabular-nums", p.slashed !== "0" ? "text-red-700" : "text-slate-400")}>{formatAmount(p.slashed)}</td>
              </tr>
            ))}
          </Table>
        )}
      </Card>
    </div>
  );
}

export default function NetworkPage() {
  return (
    <>
      <PageHeader title="Network" subtitle="Who is online, how much work flows through, how fast, and how results are verified — live." />
      <SignedIn what="the network dashboard">{() => <Dashboard />}</SignedIn>
    </>
  );
}
