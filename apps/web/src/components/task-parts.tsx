"use client";
import type { ReactNode } from "react";
import type { ProviderPublic, TaskView } from "@stun/shared";
import { formatAmount, formatMs, formatShape, formatTime, shortHash } from "@/lib/format";
import { decodeOutput, download, formatValue, isClassifierLike, outputJson, outputNpy, topK, type DecodedOutput } from "@/lib/tensor-output";
import { Badge, Button, CopyButton, KeyValues, Mono, Table, cx, td, type Tone } from "./ui";

// ---- status timeline ---------------------------------------------------------------------------

const STEPS = ["queued", "assigned", "running", "verifying", "completed"] as const;

type StepState = "done" | "current" | "todo" | "failed" | "skipped";

function stepStates(t: TaskView): StepState[] {
  const ex = t.verification.executions;
  if (t.status === "completed") {
    const single = t.verification.replicas <= 1 && ex.filter((e) => e.status === "completed").length <= 1;
    return STEPS.map((s) => (s === "verifying" && single ? "skipped" : "done"));
  }
  if (t.status === "failed" || t.status === "expired") {
    const reached = [true, ex.length > 0, ex.some((e) => e.status !== "assigned"), ex.filter((e) => e.status === "completed").length > 0 && t.verification.replicas > 1];
    return STEPS.map((_, i) => (i < 4 ? (reached[i] ? "done" : "todo") : "failed"));
  }
  const at = STEPS.indexOf(t.status as (typeof STEPS)[number]);
  return STEPS.map((_, i) => (i < at ? "done" : i === at ? "current" : "todo"));
}

const STEP_TEXT: Record<(typeof STEPS)[number], string> = {
  queued: "Escrow held, waiting for a provider",
  assigned: "Handed to provider(s)",
  running: "A provider is running it",
  verifying: "Comparing results",
  completed: "Accepted and paid",
};

export function StatusTimeline({ task }: { task: TaskView }) {
  const states = stepStates(task);
  const failed = task.status === "failed" || task.status === "expired";
  return (
    <ol className="grid gap-3 sm:grid-cols-5" aria-label="Task status">
      {STEPS.map((step, i) => {
        const st = states[i]!;
        const label = i === 4 && failed ? task.status : step;
        return (
          <li key={step} className="relative flex gap-3 sm:block" aria-current={st === "current" ? "step" : undefined} data-state={st} data-step={label}>
            <div className="flex items-center sm:mb-2">
              <span
                className={cx(
                  "flex size-7 shrink-0 items-center justify-center rounded-full text-xs font-semibold ring-2",
                  st === "done" && "bg-brand-600 text-white ring-brand-600",
                  st === "current" && "bg-white text-brand-700 ring-brand-500",
                  st === "todo" && "bg-white text-slate-400 ring-slate-200",
                  st === "skipped" && "bg-slate-100 text-slate-400 ring-slate-200",
                  st === "failed" && "bg-red-600 text-white ring-red-600",
                )}
              >
                {st === "done" ? "✓" : st === "failed" ? "✕" : st === "skipped" ? "–" : st === "current" ? <span className="live-dot size-2 rounded-full bg-brand-500" /> : i + 1}
              </span>
              {i < STEPS.length - 1 ? <span aria-hidden className={cx("ml-2 hidden h-0.5 flex-1 rounded sm:block", st === "done" || st === "skipped" ? "bg-brand-300" : "bg-slate-200")} /> : null}
            </div>
            <div>
              <p className={cx("text-sm font-medium capitalize", st === "failed" ? "text-red-700" : st === "todo" ? "text-slate-400" : "text-slate-900")}>
                {label}
                <span className="sr-only"> — {st}</span>
              </p>
              <p className="text-xs text-slate-500">
                {st === "skipped" ? "Single execution: nothing to compare" : i === 4 && failed ? (task.error?.code ?? "ended without a result") : STEP_TEXT[step]}
              </p>
            </div>
          </li>
        );
      })}
    </ol>
  );
}

// ---- outputs -----------------------------------------------------------------------------------

function ValuesTable({ o }: { o: DecodedOutput }) {
  const dims = o.raw.dims;
  const matrix = dims.length === 2 && dims[1]! <= 12 && dims[0]! <= 16 ? { rows: dims[0]!, cols: dims[1]! } : undefined;
  if (matrix) {
    return (
      <div className="overflow-x-auto">
        <table className="text-right font-mono text-xs" data-testid={`values-${o.name}`}>
          <caption className="sr-only">
            Values of {o.name}, {matrix.rows} rows by {matrix.cols} columns
          </caption>
          <thead>
            <tr className="text-slate-400">
              <th scope="col" className="px-2 py-1 font-normal" />
              {Array.from({ length: matrix.cols }, (_, c) => (
                <th key={c} scope="col" className="px-2 py-1 font-normal">
                  {c}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {Array.from({ length: matrix.rows }, (_, r) => (
              <tr key={r} className="border-t border-slate-100">
                <th scope="row" className="px-2 py-1 font-normal text-slate-400">
                  {r}
                </th>
                {Array.from({ length: matrix.cols }, (_, c) => (
                  <td key={c} className="px-2 py-1 tabular-nums text-slate-900">
                    {formatValue(o.values[r * matrix.cols + c]!)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    );
  }
  const shown = o.values.slice(0, 48);
  return (
    <div>
      <ol className="grid grid-cols-2 gap-x-4 gap-y-1 font-mono text-xs sm:grid-cols-4" data-testid={`values-${o.name}`} aria-label={`Values of ${o.name}`}>
        {shown.map((v, i) => (
          <li key={i} className="flex justify-between gap-2 border-b border-slate-100 py-0.5">
            <span className="text-slate-400">{i}</span>
            <span className="tabular-nums text-slate-900">{formatValue(v)}</span>
          </li>
        ))}
      </ol>
      {o.values.length > shown.length ? <p className="mt-2 text-xs text-slate-500">… and {o.values.length - shown.length} more: download the tensor for all of them.</p> : null}
    </div>
  );
}

function TopK({ o }: { o: DecodedOutput }) {
  const top = topK(o.values as number[], 5);
  return (
    <table className="w-full text-sm" data-testid={`topk-${o.name}`}>
      <caption className="mb-2 text-left text-xs font-medium uppercase tracking-wide text-slate-500">Top {top.length} classes</caption>
      <thead className="sr-only">
        <tr>
          <th scope="col">class index</th>
          <th scope="col">score</th>
          <th scope="col">probability</th>
        </tr>
      </thead>
      <tbody>
        {top.map((t) => (
          <tr key={t.index}>
            <td className="w-20 py-1 font-mono text-xs text-slate-600">#{t.index}</td>
            <td className="py-1">
              <div className="flex items-center gap-2">
                <div className="h-2 flex-1 rounded-full bg-slate-100">
                  <div className="h-2 rounded-full bg-brand-500" style={{ width: `${Math.max(1, t.probability * 100)}%` }} />
                </div>
                <span className="w-14 text-right text-xs tabular-nums text-slate-700">{(t.probability * 100).toFixed(1)}%</span>
              </div>
            </td>
            <td className="w-24 py-1 text-right font-mono text-xs tabular-nums text-slate-900">{formatValue(t.score)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function OutputTensor({ o }: { o: DecodedOutput }) {
  return (
    <div className="rounded-lg border border-slate-200 p-4" data-testid={`output-${o.name}`}>
      <div className="mb-3 flex flex-wrap items-center justify-between gap-2">
        <p className="text-sm">
          <span className="font-mono font-medium text-slate-900">{o.name}</span> <span className="font-mono text-brand-700">{o.raw.dtype}</span>{" "}
          <span className="font-mono text-slate-600">{formatShape(o.raw.dims)}</span>
        </p>
        <div className="flex gap-2">
          <Button variant="secondary" size="sm" onClick={() => download(`${o.name}.npy`, outputNpy(o), "application/octet-stream")}>
            Download .npy <span className="sr-only">of {o.name}</span>
          </Button>
          <Button variant="secondary" size="sm" onClick={() => download(`${o.name}.json`, outputJson(o), "application/json")}>
            JSON <span className="sr-only">of {o.name}</span>
          </Button>
        </div>
      </div>
      <div className={cx("grid gap-6", isClassifierLike(o) && "lg:grid-cols-2")}>
        {isClassifierLike(o) ? <TopK o={o} /> : null}
        <ValuesTable o={o} />
      </div>
    </div>
  );
}

export function Outputs({ outputs: tensors }: { outputs: TaskView["outputs"] }) {
  const outputs = Object.entries(tensors ?? {}).map(([name, json]) => {
    try {
      return decodeOutput(name, json);
    } catch (e) {
      return { name, error: (e as Error).message };
    }
  });
  return (
    <div className="space-y-4">
      {outputs.map((o) =>
        "error" in o ? (
          <p key={o.name} role="alert" className="text-sm text-red-700">
            {o.name}: {o.error}
          </p>
        ) : (
          <OutputTensor key={o.name} o={o} />
        ),
      )}
    </div>
  );
}

// ---- verification and receipt ------------------------------------------------------------------

const VERDICT_TONE: Record<string, Tone> = { accepted: "green", rejected: "red", inconclusive: "amber", late: "slate" };
const OUTCOME_TEXT: Record<TaskView["verification"]["outcome"], string> = {
  pending: "pending",
  accepted: "replicas agreed",
  rejected: "no accepted result",
  single: "single execution (not compared)",
};

export function Executions({ task, providers }: { task: TaskView; providers: Map<string, ProviderPublic> }) {
  const v = task.verification;
  return (
    <div>
      <div className="mb-3 flex flex-wrap items-center gap-2 text-sm text-slate-700">
        Mode <Badge tone="indigo">{v.mode}</Badge> · {v.replicas} replica{v.replicas === 1 ? "" : "s"} · outcome{" "}
        <Badge tone={v.outcome === "accepted" || v.outcome === "single" ? "green" : v.outcome === "rejected" ? "red" : "slate"}>{OUTCOME_TEXT[v.outcome]}</Badge>
      </div>
      {v.executions.length === 0 ? (
        <p className="text-sm text-slate-500">No provider has taken it yet.</p>
      ) : (
        <Table head={["Provider", "Backend", "Status", "Verdict", "Run time", "Output digest"]} caption="Executions">
          {v.executions.map((e, i) => {
            const p = providers.get(e.providerId);
            return (
              <tr key={i}>
                <td className={td}>
                  {p ? <span className="font-medium text-slate-900">{p.name}</span> : null} <Mono className="text-slate-500">{e.providerId}</Mono>
                </td>
                <td className={td}>
                  <Badge>{e.backend}</Badge>
                </td>
                <td className={td}>{e.status}</td>
                <td className={td}>{e.verdict ? <Badge tone={VERDICT_TONE[e.verdict] ?? "slate"}>{e.verdict}</Badge> : <span className="text-slate-400">–</span>}</td>
                <td className={cx(td, "tabular-nums")}>{formatMs(e.runMs)}</td>
                <td className={td}>{e.outputDigest ? <Mono className="text-slate-600">{shortHash(e.outputDigest)}</Mono> : <span className="text-slate-400">–</span>}</td>
              </tr>
            );
          })}
        </Table>
      )}
    </div>
  );
}

const CHECK_TEXT: Record<string, string> = {
  replicated: "replicated — independent providers agreed",
  audit: "audit — a trusted provider, checked at random",
  solo: "solo — a trusted provider alone (may be re-checked later)",
  referee: "referee — one provider, checked by the server's own reference run",
  single: "single — alone and unchecked, as the requester allowed",
  unverified: "unverified — verification mode none",
  "known-answer": "known answer — a canary",
  recheck: "re-check of an earlier solo result",
  proof: "zero-knowledge proof — output = model(input), verified by the server",
  attested: "attested — run sealed inside a TEE whose evidence the requester verified",
};

function Digest({ value }: { value: string }) {
  return (
    <span title={value}>
      <Mono>{shortHash(value, 12)}</Mono> <CopyButton text={value} />
    </span>
  );
}

export function Receipt({ task }: { task: TaskView }) {
  const r = task.receipt;
  if (!r) return <p className="text-sm text-slate-500">The receipt is written when the task is accepted and paid.</p>;
  const split = r.split;
  const cost = BigInt(r.cost);
  const pct = (x: string) => (cost > 0n ? `${((Number(x) / Number(r.cost)) * 100).toFixed(0)}%` : "–");
  return (
    <div className="grid gap-6 lg:grid-cols-[minmax(0,2fr)_minmax(0,3fr)]">
      <div>
        <h3 className="mb-2 text-xs font-semibold uppercase tracking-wide text-slate-500">Payout of {formatAmount(r.cost)}</h3>
        <div className="flex h-3 overflow-hidden rounded-full bg-slate-100" aria-hidden>
          {cost > 0n ? (
            <>
              <div className="bg-brand-500" style={{ width: pct(split.providers) }} />
              <div className="bg-sky-400" style={{ width: pct(split.treasury) }} />
              <div className="bg-amber-400" style={{ width: pct(split.creator) }} />
            </>
          ) : null}
        </div>
        <dl className="mt-2 grid grid-cols-3 gap-2 text-sm">
          {[
            ["Providers", split.providers, "bg-brand-500"],
            ["Treasury", split.treasury, "bg-sky-400"],
            ["Model creator", split.creator, "bg-amber-400"],
          ].map(([label, v, color]) => (
            <div key={label}>
              <dt className="flex items-center gap-1.5 text-xs text-slate-500">
                <span aria-hidden className={cx("size-2 rounded-full", color)} />
                {label}
              </dt>
              <dd className="tabular-nums font-medium">{formatAmount(v)}</dd>
            </div>
          ))}
        </dl>
        <details className="mt-6 text-sm">
          <summary className="cursor-pointer rounded text-brand-700">Raw receipt JSON</summary>
          <pre className="mt-2 max-h-80 overflow-auto rounded-lg bg-slate-900 p-3 font-mono text-xs text-slate-100">{JSON.stringify(r, null, 2)}</pre>
        </details>
      </div>
      <KeyValues
        rows={[
          [
            "QA check",
            r.qa ? (
              <span key="qa">
                {CHECK_TEXT[r.qa.check] ?? r.qa.check}
                {r.qa.recheck !== "none" ? ` · re-check ${r.qa.recheck}` : ""}
              </span>
            ) : (
              "–"
            ),
          ],
          ["Task kind", r.qa?.kind ?? "user"],
          ["Tolerance", `abs ${r.tolerance.abs} · rel ${r.tolerance.rel}${r.tolerance.argmax ? " · argmax" : ""}`],
          ["Model SHA-256", <Digest key="m" value={r.modelSha256} />],
          ["Input digest", <Digest key="i" value={r.inputDigest} />],
          ["Output digest", <Digest key="o" value={r.outputDigest} />],
          ...(r.tee
            ? ([
                [
                  "TEE",
                  <span key="tee" className="flex flex-wrap items-center gap-1.5">
                    {r.tee.kind}
                    {r.tee.simulated ? <Badge tone="amber">SIMULATED</Badge> : null} · provider <Mono>{r.tee.providerId}</Mono>
                  </span>,
                ],
                ["TEE evidence", <Digest key="te" value={r.tee.evidenceSha256} />],
                ["TEE measurement", r.tee.measurement ? <Digest key="tm" value={r.tee.measurement} /> : "–"],
              ] as [ReactNode, ReactNode][])
            : []),
          ...(r.zk
            ? ([
                ["Model hash (zk)", <Digest key="zm" value={r.zk.modelHash} />],
                ["Input hash (zk)", <Digest key="zi" value={r.zk.inputHash} />],
                ["Circuit", <Digest key="zc" value={r.zk.circuitHash} />],
              ] as [ReactNode, ReactNode][])
            : []),
          [
            "Paid",
            <span key="p" className="flex flex-col gap-0.5">
              {r.providers.map((p) => (
                <span key={p.providerId}>
                  <Mono>{p.providerId}</Mono> ({p.backend}) · {formatAmount(p.paid)}
                </span>
              ))}
            </span>,
          ],
          ["Completed", formatTime(r.completedAt)],
        ]}
      />
    </div>
  );
}

// ---- sealed (privacy tee) ----------------------------------------------------------------------

/** What a sealed task was sealed to: the receipt's record once completed, else what this tab sealed to. */
export interface SealedTo {
  kind: string;
  simulated: boolean;
  measurement: string | null;
  evidenceSha256: string;
  providerId: string;
}

/** The sealed-task banner: inputs and outputs encrypted end to end to an attested TEE, and which one. */
export function SealedNotice({ to }: { to: SealedTo | null }) {
  return (
    <div className="rounded-lg border border-emerald-200 bg-emerald-50 px-4 py-3 text-sm text-emerald-950" data-testid="sealed-notice" data-simulated={to?.simulated ? "true" : "false"}>
      <p className="font-medium">Sealed: inputs and outputs encrypted end to end to an attested TEE.</p>
      {to ? (
        <p className="mt-1 flex flex-wrap items-center gap-1.5 text-xs">
          {to.simulated ? <Badge tone="amber">SIMULATED TEE — development only, proves nothing</Badge> : <Badge tone="green">real TEE</Badge>}
          <span>
            {to.kind} · provider <Mono>{to.providerId}</Mono> · measurement {to.measurement ? <Mono>{shortHash(to.measurement, 12)}</Mono> : "–"} · evidence sha256{" "}
            <span title={to.evidenceSha256}>
              <Mono>{shortHash(to.evidenceSha256, 12)}</Mono>
            </span>
          </span>
        </p>
      ) : null}
      <p className="mt-1 text-xs text-emerald-900">The server stores and relays only ciphertext. The outputs open in this browser tab alone, with the reply key it kept when it sealed the task.</p>
    </div>
  );
}
