"use client";
import Link from "next/link";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useSearchParams } from "next/navigation";
import { Suspense, useEffect, useMemo, useState } from "react";
import { isTerminalStatus, tensorMapToJson, type TaskView } from "@stun/shared";
import { SignedIn } from "@/components/signed-in";
import { Executions, Outputs, Receipt, SealedNotice, StatusTimeline, type SealedTo } from "@/components/task-parts";
import { ButtonLink, Card, CopyButton, EmptyState, ErrorNotice, LoadingCard, Mono, PageHeader, Stat, StatusBadge } from "@/components/ui";
import { toUiError } from "@/lib/errors";
import { formatAmount, formatMs, formatTime } from "@/lib/format";
import { loadSealedKey, openSealedInPage, type SealedTaskKey } from "@/lib/sealed";
import { refreshOnPush } from "@/lib/task-push";
import { trpc } from "@/lib/trpc";

/** Seconds each long-poll may wait (only when the push channel failed): the server answers at once when the task ends, else after this. */
const LONG_POLL_S = 2;

/** A completed sealed task's outputs, opened here with this tab's reply key (after checking the receipt names what this tab sealed). */
function SealedOutputs({ task, sealedKey }: { task: TaskView; sealedKey: SealedTaskKey | null }) {
  const opened = useQuery({
    queryKey: ["tasks.openSealed", task.id, task.receipt?.outputDigest],
    queryFn: async () => tensorMapToJson(await openSealedInPage(task, sealedKey!)),
    enabled: !!sealedKey,
    retry: false,
    staleTime: Infinity,
  });
  if (!sealedKey) {
    return (
      <p className="text-sm text-slate-700" data-testid="sealed-no-key">
        The outputs are sealed to a reply key that only the browser tab which submitted this task kept (sessionStorage). This tab does not hold it, so the outputs cannot be read here — not by the
        server either.
      </p>
    );
  }
  if (opened.isPending) return <p className="text-sm text-slate-500">Opening the sealed outputs in this page…</p>;
  if (opened.isError) return <ErrorNotice error={toUiError(opened.error)} title="The sealed outputs did not open" />;
  return (
    <div className="space-y-3" data-testid="sealed-outputs">
      <p className="text-xs text-slate-500">Decrypted in this page with the tab&apos;s reply key; the server never held them in the clear.</p>
      <Outputs outputs={opened.data} />
    </div>
  );
}

function Task({ id }: { id: string }) {
  const queryClient = useQueryClient();
  const key = useMemo(() => ["tasks.get", id], [id]);
  // Live from the server's push (tRPC subscription tasks.watch); long-polling only if that fails.
  const [pushFailed, setPushFailed] = useState(false);
  const task = useQuery({
    queryKey: key,
    queryFn: () => {
      const prev = queryClient.getQueryData<TaskView>(key);
      return trpc.tasks.get.query({ id, wait: pushFailed && prev && !isTerminalStatus(prev.status) ? LONG_POLL_S : 0 });
    },
    refetchInterval: (q) => (!pushFailed || (q.state.data && isTerminalStatus(q.state.data.status)) ? false : 100),
    refetchIntervalInBackground: true,
  });
  useEffect(() => {
    const sub = trpc.tasks.watch.subscribe(
      { taskId: id },
      {
        // Each status the task reaches (its current one first): the view is read again when it changed.
        onData: (u) => {
          void refreshOnPush(queryClient, key, u.status);
          if (isTerminalStatus(u.status)) sub.unsubscribe();
        },
        onError: () => setPushFailed(true),
      },
    );
    return () => sub.unsubscribe();
  }, [id, key, queryClient]);
  const providers = useQuery({ queryKey: ["network.providers"], queryFn: () => trpc.network.providers.query(), staleTime: 30_000 });
  const model = useQuery({
    queryKey: ["models.get", task.data?.modelId],
    queryFn: () => trpc.models.get.query({ id: task.data!.modelId }),
    enabled: !!task.data,
    staleTime: Infinity,
  });
  const byId = useMemo(() => new Map((providers.data?.providers ?? []).map((p) => [p.id, p])), [providers.data]);
  // The reply key of a task this tab sealed (never sent anywhere).
  const sealedKey = useMemo(() => loadSealedKey(id), [id]);

  if (task.isPending) return <LoadingCard label="Loading the task" rows={4} />;
  if (task.isError) return <ErrorNotice error={toUiError(task.error)} title="Could not load this task" onRetry={() => void task.refetch()} />;
  const t = task.data;
  const live = !isTerminalStatus(t.status);
  const elapsed = t.completedAt ? Date.parse(t.completedAt) - Date.parse(t.createdAt) : null;
  const isSealed = !!(t.sealed || t.receipt?.tee || sealedKey);
  const sealedTo: SealedTo | null = t.receipt?.tee ?? sealedKey;

  return (
    <>
      <PageHeader
        title={
          <span className="flex flex-wrap items-center gap-3">
            Task <StatusBadge status={t.status} />
          </span>
        }
        subtitle={
          <span className="inline-flex flex-wrap items-center gap-1">
            <Mono>{t.id}</Mono> <CopyButton text={t.id} label="Copy id" /> · model{" "}
            <Link className="font-medium text-brand-700 hover:underline" href={`/model?id=${t.modelId}`}>
              {model.data?.name ?? t.modelId}
            </Link>
          </span>
        }
        actions={
          <ButtonLink href={`/model?id=${t.modelId}`} variant="secondary" size="sm">
            Run again
          </ButtonLink>
        }
      />
      <div className="space-y-6">
        {isSealed ? <SealedNotice to={sealedTo} /> : null}
        <Card
          title="Status"
          actions={
            live ? (
              <span className="flex items-center gap-1.5 text-xs text-slate-500" role="status">
                <span aria-hidden className="live-dot size-2 rounded-full bg-emerald-500" /> Live
              </span>
            ) : null
          }
        >
          <div data-testid="task-status" data-status={t.status}>
            <StatusTimeline task={t} />
          </div>
          {t.error ? (
            <div role="alert" className="mt-4 rounded-lg border border-red-200 bg-red-50 px-4 py-3 text-sm text-red-800">
              <code className="mr-2 rounded bg-red-100 px-1.5 py-0.5 font-mono text-xs">{t.error.code}</code>
              {t.error.message} The escrow was refunded in full.
            </div>
          ) : null}
          {t.correction ? (
            <div role="alert" className="mt-4 rounded-lg border border-amber-200 bg-amber-50 px-4 py-3 text-sm text-amber-900">
              <p className="font-medium">This result was corrected on {formatTime(t.correction.at)}.</p>
              <p className="mt-1">
                A re-check found the result first delivered (digest <Mono>{t.correction.previousOutputDigest.slice(0, 16)}…</Mono>) wrong; the outputs below are the corrected ones (
                <Mono>{t.correction.outputDigest.slice(0, 16)}…</Mono>).
              </p>
            </div>
          ) : null}
        </Card>

        <dl className="grid grid-cols-2 gap-4 lg:grid-cols-4">
          <Stat label="Cost" value={t.cost === null ? "–" : formatAmount(t.cost)} hint="base units, accepted executions" />
          <Stat label="Submit → result" value={formatMs(elapsed)} hint={t.completedAt ? formatTime(t.completedAt) : "not finished"} />
          <Stat label="Executions" value={t.verification.executions.length} hint={`${t.verification.mode} verification`} />
          <Stat
            label="Submitted"
            value={new Date(t.createdAt).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" })}
            hint={new Date(t.createdAt).toLocaleDateString(undefined, { dateStyle: "medium" })}
          />
        </dl>

        {t.status === "completed" ? (
          <Card title="Outputs" id="outputs">
            {isSealed ? <SealedOutputs task={t} sealedKey={sealedKey} /> : <Outputs outputs={t.outputs} />}
          </Card>
        ) : live ? (
          <Card title="Outputs">
            <p className="text-sm text-slate-500">The outputs appear here when the task completes — this page updates by itself.</p>
          </Card>
        ) : null}

        <Card title="Verification" id="verification">
          <Executions task={t} providers={byId} />
        </Card>
        <Card title="Receipt" id="receipt">
          <Receipt task={t} />
        </Card>
      </div>
    </>
  );
}

function TaskPage() {
  const id = useSearchParams().get("id");
  if (!id) {
    return (
      <EmptyState title="No task selected" action={<ButtonLink href="/tasks">Your tasks</ButtonLink>}>
        Open a task from your task history.
      </EmptyState>
    );
  }
  return <SignedIn what="this task">{() => <Task id={id} />}</SignedIn>;
}

export default function Page() {
  return (
    <Suspense fallback={<LoadingCard label="Loading" />}>
      <TaskPage />
    </Suspense>
  );
}
