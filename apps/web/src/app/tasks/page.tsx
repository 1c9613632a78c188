"use client";
import Link from "next/link";
import { useQuery } from "@tanstack/react-query";
import { useId, useMemo, useState } from "react";
import { TASK_STATUSES } from "@stun/shared";
import { SignedIn } from "@/components/signed-in";
import { ButtonLink, Card, EmptyState, ErrorNotice, LoadingCard, Mono, PageHeader, StatusBadge, Table, cx, inputBase, td } from "@/components/ui";
import { toUiError } from "@/lib/errors";
import { formatAgo, formatAmount, formatMs } from "@/lib/format";
import { trpc } from "@/lib/trpc";

function Tasks() {
  const filterId = useId();
  const [status, setStatus] = useState<string>("");
  const tasks = useQuery({
    queryKey: ["tasks.list", status],
    queryFn: () => trpc.tasks.list.query({ limit: 100, ...(status ? { status } : {}) }),
    refetchInterval: 5_000,
  });
  const models = useQuery({ queryKey: ["models.list"], queryFn: () => trpc.models.list.query({ limit: 500 }), staleTime: 30_000 });
  const names = useMemo(() => new Map((models.data?.models ?? []).map((m) => [m.id, m.name])), [models.data]);

  return (
    <Card
      title="History"
      actions={
        <div className="flex items-center gap-2">
          <label htmlFor={filterId} className="text-xs text-slate-600">
            Status
          </label>
          <select id={filterId} className={cx(inputBase, "w-36 py-1")} value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">all</option>
            {TASK_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
      }
    >
      {tasks.isPending ? (
        <LoadingCard label="Loading tasks" />
      ) : tasks.isError ? (
        <ErrorNotice error={toUiError(tasks.error)} title="Could not load tasks" onRetry={() => void tasks.refetch()} />
      ) : tasks.data.tasks.length === 0 ? (
        <EmptyState title={status ? `No ${status} tasks` : "No tasks yet"} action={<ButtonLink href="/models">Run a model</ButtonLink>}>
          {status ? "Try another status filter." : "Pick a model, fill in its inputs and run it: the task shows up here."}
        </EmptyState>
      ) : (
        <Table head={["Task", "Model", "Status", "Verification", "Cost", "Took", "Submitted"]} caption="Your tasks, newest first">
          {tasks.data.tasks.map((t) => (
            <tr key={t.id} className="hover:bg-slate-50">
              <td className={td}>
                <Link href={`/task?id=${t.id}`} className="rounded font-mono text-[0.8125rem] text-brand-700 hover:underline">
                  {t.id}
                </Link>
              </td>
              <td className={td}>{names.get(t.modelId) ?? <Mono className="text-slate-500">{t.modelId}</Mono>}</td>
              <td className={td}>
                <StatusBadge status={t.status} />
              </td>
              <td className={cx(td, "text-slate-600")}>
                {t.verification.mode} · {t.verification.outcome}
              </td>
              <td className={cx(td, "tabular-nums")}>{t.cost === null ? "–" : formatAmount(t.cost)}</td>
              <td className={cx(td, "tabular-nums text-slate-600")}>{t.completedAt ? formatMs(Date.parse(t.completedAt) - Date.parse(t.createdAt)) : "–"}</td>
              <td className={cx(td, "text-slate-600")}>{formatAgo(t.createdAt)}</td>
            </tr>
          ))}
        </Table>
      )}
    </Card>
  );
}

export default function TasksPage() {
  return (
    <>
      <PageHeader title="Tasks" subtitle="Every inference task you submitted, newest first. Refreshes every few seconds." />
      <SignedIn what="your tasks">{() => <Tasks />}</SignedIn>
    </>
  );
}
