"use client";
/**
 * The Contribute tab (/provide): this browser as a Stun provider. Start/pause, the backend it runs
 * and why, a throttle (WASM threads and a CPU/GPU-use duty cycle), price, stake, live counters and
 * the latest error. The work itself happens in a Web Worker (worker.ts) driven by useProvider.
 */
import { useId, useState, type ReactNode } from "react";
import { Badge, Button, ButtonLink, Card, EmptyState, ErrorNotice, KeyValues, Mono, PageHeader, Stat, cx, inputClass, type Tone } from "@/components/ui";
import { toUiError } from "@/lib/errors";
import { formatAmount, formatMs } from "@/lib/format";
import { chooseBackend } from "./gpu";
import { type ProviderView, type Status, stakeMultiple, stakeNeeded, useProvider } from "./use-provider";
import { isAmount, isProviderName } from "./settings";

const STATUS: Record<Status, { label: string; tone: Tone; live?: boolean }> = {
  loading: { label: "Loading", tone: "slate" },
  "signed-out": { label: "Not signed in", tone: "slate" },
  idle: { label: "Offline", tone: "slate" },
  starting: { label: "Starting", tone: "blue", live: true },
  online: { label: "Online", tone: "green", live: true },
  reconnecting: { label: "Reconnecting", tone: "amber", live: true },
  pausing: { label: "Pausing", tone: "amber", live: true },
  paused: { label: "Paused", tone: "slate" },
  error: { label: "Error", tone: "red" },
};

const RUNNING: Status[] = ["starting", "online", "reconnecting"];

function StatusBadge({ status }: { status: Status }) {
  const s = STATUS[status];
  return (
    <span data-testid="provider-status" data-status={status}>
      <Badge tone={s.tone} className="px-2.5 py-1 text-sm">
        {s.live ? <span aria-hidden className="live-dot size-2 rounded-full bg-current" /> : <span aria-hidden className="size-2 rounded-full bg-current opacity-60" />}
        {s.label}
      </Badge>
    </span>
  );
}

function statusSentence(v: ProviderView): string {
  switch (v.status) {
    case "loading":
      return "Loading…";
    case "signed-out":
      return "Sign in to contribute.";
    case "idle":
      return "Not contributing. Start to join the network; this tab then runs tasks until you pause or close it.";
    case "starting":
      return v.detail ? `Starting: ${v.detail}…` : "Starting…";
    case "online":
      return v.stats.active > 0 ? "Online: running a task." : "Online: waiting for tasks.";
    case "reconnecting":
      return v.detail ?? "Lost the connection; reconnecting…";
    case "pausing":
      return v.detail ? `Pausing: ${v.detail}…` : "Pausing: finishing the current task…";
    case "paused":
      return "Paused. Nothing runs until you start again.";
    case "error":
      return "Stopped by an error (below). Fix it and start again.";
  }
}

function Field({ label, hint, children, htmlFor }: { label: string; hint?: ReactNode; children: ReactNode; htmlFor: string }) {
  return (
    <div>
      <label htmlFor={htmlFor} className="block text-sm font-medium text-slate-800">
        {label}
      </label>
      <div className="mt-1.5">{children}</div>
      {hint ? <p className="mt-1 text-xs text-slate-500">{hint}</p> : null}
    </div>
  );
}

/** A price setting: a whole number of base units, refused (with why) otherwise. */
function PriceSetting(p: { id: string; label: string; value: string; hint: string; example: string; disabled: boolean; onChange(value: string): void }) {
  const ok = isAmount(p.value);
  return (
    <Field label={p.label} htmlFor={p.id} hint={ok ? p.hint : undefined}>
      <input id={p.id} inputMode="numeric" className={inputClass} value={p.value} disabled={p.disabled} aria-invalid={!ok || undefined} onChange={(e) => p.onChange(e.target.value.trim())} />
      {!ok ? <p className="mt-1 text-xs text-red-700">A whole number of base units, e.g. {p.example}.</p> : null}
    </Field>
  );
}

export function ContributeTab() {
  const { view: v, settings, updateSettings, start, pause, stake, signedIn } = useProvider();
  const ids = { name: useId(), backend: useId(), threads: useId(), use: useId(), price: useId(), perUnit: useId(), stake: useId() };
  const [stakeAmount, setStakeAmount] = useState("");
  const [stakeError, setStakeError] = useState<string | null>(null);
  const [staking, setStaking] = useState(false);

  const running = RUNNING.includes(v.status) || v.status === "pausing";
  const busy = v.status === "starting" || v.status === "pausing" || v.status === "loading";
  const backendLabel = v.runtime ? (v.runtime.backend === "webgpu" ? "WebGPU" : `WASM × ${v.runtime.threads}`) : v.decision?.ok ? (v.decision.backend === "webgpu" ? "WebGPU" : "WASM") : "–";
  const avgRun = v.stats.done > 0 ? v.stats.runMsTotal / v.stats.done : undefined;
  const multiple = stakeMultiple(v.webConfig);
  const need = settings ? stakeNeeded(settings.price, multiple) : 0n;
  const stakeShort = v.account && need > 0n && BigInt(v.account.stake) < need;
  const nameOk = settings ? isProviderName(settings.name) : true;
  const priceOk = settings ? isAmount(settings.price) : true;
  const perUnitOk = settings ? isAmount(settings.pricePerUnit) : true;
  const restartNote = running ? "Applies the next time you start." : undefined;
  // Before a start (or after a settings change), what a start would pick.
  const preview = settings && v.probe ? chooseBackend(settings.backend, v.probe, v.crossOriginIsolated ? settings.threads : 1) : undefined;
  const decision = running || v.status === "paused" ? (v.decision ?? preview) : preview;

  const headerAction = signedIn ? (
    running ? (
      <Button variant="secondary" onClick={pause} disabled={v.status === "pausing"} aria-label="Pause contributing">
        <span aria-hidden>❚❚</span> {v.status === "pausing" ? "Pausing…" : "Pause"}
      </Button>
    ) : (
      <Button onClick={() => void start()} disabled={busy || !settings || !nameOk || !priceOk || !perUnitOk} aria-label="Start contributing">
        <span aria-hidden>▶</span> {v.status === "paused" || v.status === "error" ? "Start again" : "Start contributing"}
      </Button>
    )
  ) : null;

  return (
    <div>
      <PageHeader
        title="Contribute"
        subtitle="Lend this browser's GPU or CPU to the Stun network: it runs ONNX models for requesters and earns for every accepted result."
        actions={
          <>
            <StatusBadge status={v.status} />
            {headerAction}
          </>
        }
      />

      {v.status === "signed-out" ? (
        <Card>
          <EmptyState title="Sign in to contribute" action={<ButtonLink href="/signin">Sign in with an API key</ButtonLink>}>
            Work done by this browser is paid to a Stun account. Sign in (or create an account) and come back here.
          </EmptyState>
        </Card>
      ) : (
        <div className="space-y-6">
          {v.resumed && running ? (
            <p role="status" className="rounded-lg border border-sky-200 bg-sky-50 px-4 py-2 text-sm text-sky-800">
              Resumed automatically: this browser was contributing before the page reloaded.
            </p>
          ) : null}

          <dl className="grid grid-cols-2 gap-4 lg:grid-cols-4">
            <Stat
              label="Tasks done"
              value={<span data-testid="tasks-done">{v.stats.done.toLocaleString()}</span>}
              hint={v.stats.failed || v.stats.undelivered ? `${v.stats.failed} failed · ${v.stats.undelivered} not accepted` : "results delivered"}
            />
            <Stat
              label="Throughput"
              value={<span data-testid="throughput">{v.throughput === 0 ? "0" : v.throughput < 10 ? v.throughput.toFixed(2) : Math.round(v.throughput).toLocaleString()}</span>}
              hint="inferences/s, last 10 s"
            />
            <Stat label="Earned" value={<span data-testid="earned">{v.earned !== undefined ? formatAmount(v.earned) : "–"}</span>} hint="base units this session (account change)" />
            <Stat
              label="Backend"
              value={<span data-testid="backend">{backendLabel}</span>}
              hint={avgRun !== undefined ? `avg run ${formatMs(avgRun)}` : v.runtime?.benchmarkIps !== undefined ? `benchmark ${v.runtime.benchmarkIps.toLocaleString()} inf/s` : "not started"}
            />
          </dl>

          <div className="grid gap-6 lg:grid-cols-3">
            <Card title="This provider" id="provider" className="lg:col-span-2">
              <p className="mb-3 text-sm text-slate-700" aria-live="polite">
                {statusSentence(v)}
              </p>
              <KeyValues
                rows={[
                  [
                    "Provider",
                    settings ? (
                      <span key="p">
                        <span className="font-medium">{settings.name}</span>
                        {v.providerId ? (
                          <>
                            {" "}
                            · <Mono>{v.providerId}</Mono>
                          </>
                        ) : null}
                      </span>
                    ) : (
                      "–"
                    ),
                  ],
                  [
                    "Backend",
                    <span key="b" data-testid="backend-reason">
                      {decision ? decision.reason : "checking WebGPU…"}
                    </span>,
                  ],
                  [
                    "Runtime",
                    v.runtime
                      ? `onnxruntime-web ${v.runtime.ortVersion} · ${v.runtime.backend === "wasm" ? `${v.runtime.threads} WASM thread${v.runtime.threads === 1 ? "" : "s"}` : "WebGPU"} · ${v.runtime.crossOriginIsolated ? "cross-origin isolated" : "not isolated (1 thread)"}`
                      : `${v.cores} logical cores · ${v.crossOriginIsolated ? "cross-origin isolated" : "not cross-origin isolated"}`,
                  ],
                  ["Benchmark", v.runtime?.benchmarkIps !== undefined ? `${v.runtime.benchmarkIps.toLocaleString()} inferences/s (MLP 784-512-256-10, batch 1)` : "measured at start"],
                  [
                    "Model cache",
                    `${v.runtime?.storage === "memory" ? "memory only (IndexedDB unavailable)" : "IndexedDB, by sha256"} · ${v.stats.downloads} download${v.stats.downloads === 1 ? "" : "s"} · ${v.stats.cacheHits} from cache`,
                  ],
                  ["Last run", v.stats.lastRunMs !== undefined ? formatMs(v.stats.lastRunMs) : "–"],
                  ...(v.stats.proofs
                    ? [
                        ["zk proofs", <span key="z" data-testid="zk-proofs">{`${v.stats.proofs} · avg ${formatMs((v.stats.proveMsTotal ?? 0) / v.stats.proofs)} (snarkjs Groth16)`}</span>] satisfies [
                          string,
                          ReactNode,
                        ],
                      ]
                    : []),
                ]}
              />
            </Card>

            <Card title="Stake" id="stake">
              <dl className="grid grid-cols-2 gap-3 text-sm">
                <div>
                  <dt className="text-slate-500">Staked</dt>
                  <dd className="text-lg font-semibold tabular-nums text-slate-900" data-testid="stake">
                    {v.account ? formatAmount(v.account.stake) : "–"}
                  </dd>
                </div>
                <div>
                  <dt className="text-slate-500">Balance</dt>
                  <dd className="text-lg font-semibold tabular-nums text-slate-900">{v.account ? formatAmount(v.account.balance) : "–"}</dd>
                </div>
              </dl>
              <p className="mt-3 text-xs text-slate-600">
                Paid work needs a stake of <span data-testid="stake-multiple">{multiple.toString()}</span>× the price of each task in progress
                {settings ? (
                  <>
                    {" "}
                    — at price {formatAmount(settings.price)}: {formatAmount(need)}
                  </>
                ) : null}
                . Wrong results are slashed from it.
              </p>
              {v.stakeNote ? (
                <p role="status" className={cx("mt-3 rounded-lg px-3 py-2 text-xs", v.stakeNote.tone === "warn" ? "bg-amber-50 text-amber-900" : "bg-emerald-50 text-emerald-800")}>
                  {v.stakeNote.text}
                </p>
              ) : stakeShort ? (
                <p role="status" className="mt-3 rounded-lg bg-amber-50 px-3 py-2 text-xs text-amber-900">
                  The stake is below {formatAmount(need)}: this provider gets only free work.
                </p>
              ) : null}
              <form
                className="mt-4 flex items-end gap-2"
                onSubmit={(e) => {
                  e.preventDefault();
                  if (!isAmount(stakeAmount) || stakeAmount === "0") {
                    setStakeError("Enter a whole number of base units above 0.");
                    return;
                  }
                  setStakeError(null);
                  setStaking(true);
                  stake(stakeAmount)
                    .then(
                      () => setStakeAmount(""),
                      (err: unknown) => setStakeError(`${toUiError(err).code}: ${toUiError(err).message}`),
                    )
                    .finally(() => setStaking(false));
                }}
              >
                <div className="flex-1">
                  <label htmlFor={ids.stake} className="block text-xs font-medium text-slate-700">
                    Stake from balance
                  </label>
                  <input
                    id={ids.stake}
                    inputMode="numeric"
                    className={cx(inputClass, "mt-1")}
                    placeholder={need > 0n ? need.toString() : "amount"}
                    value={stakeAmount}
                    aria-invalid={stakeError ? true : undefined}
                    aria-describedby={stakeError ? `${ids.stake}-err` : undefined}
                    onChange={(e) => setStakeAmount(e.target.value.trim())}
                  />
                </div>
                <Button type="submit" variant="secondary" disabled={staking}>
                  {staking ? "Staking…" : "Stake"}
                </Button>
              </form>
              {stakeError ? (
                <p id={`${ids.stake}-err`} className="mt-1.5 text-xs text-red-700">
                  {stakeError}
                </p>
              ) : null}
            </Card>
          </div>

          {v.lastError ? (
            <ErrorNotice
              error={{ code: v.lastError.code, message: v.lastError.message }}
              title={v.status === "error" ? "The provider stopped" : "Last error"}
              onRetry={v.status === "error" ? () => void start() : undefined}
            />
          ) : null}

          <div className="grid gap-6 lg:grid-cols-3">
            <Card title="Settings" id="settings" className="lg:col-span-2">
              {settings ? (
                <form className="grid gap-5 sm:grid-cols-2" onSubmit={(e) => e.preventDefault()}>
                  <Field label="Provider name" htmlFor={ids.name} hint={nameOk ? "Your provider's identity on this account: keep it to keep its reputation." : undefined}>
                    <input
                      id={ids.name}
                      className={inputClass}
                      value={settings.name}
                      maxLength={100}
                      disabled={running}
                      aria-invalid={!nameOk || undefined}
                      onChange={(e) => updateSettings({ name: e.target.value })}
                    />
                    {!nameOk ? <p className="mt-1 text-xs text-red-700">1–100 characters.</p> : null}
                  </Field>
                  <Field label="Backend" htmlFor={ids.backend} hint={restartNote ?? "Auto picks WebGPU on a real GPU, else WASM."}>
                    <select
                      id={ids.backend}
                      className={inputClass}
                      value={settings.backend}
                      disabled={running}
                      onChange={(e) => updateSettings({ backend: e.target.value as typeof settings.backend })}
                    >
                      <option value="auto">Auto</option>
                      <option value="webgpu">WebGPU</option>
                      <option value="wasm">WASM (CPU)</option>
                    </select>
                  </Field>
                  <Field
                    label="WASM threads"
                    htmlFor={ids.threads}
                    hint={!v.crossOriginIsolated ? "This page is not cross-origin isolated: WASM runs on 1 thread." : (restartNote ?? `Of ${v.cores} logical cores. Small models run fastest on 1.`)}
                  >
                    <select
                      id={ids.threads}
                      className={inputClass}
                      value={settings.threads}
                      disabled={running || !v.crossOriginIsolated}
                      onChange={(e) => updateSettings({ threads: Number(e.target.value) })}
                    >
                      {Array.from({ length: Math.max(1, v.cores) }, (_, i) => i + 1).map((n) => (
                        <option key={n} value={n}>
                          {n}
                        </option>
                      ))}
                    </select>
                  </Field>
                  <Field label={`CPU/GPU use: ${settings.usePct}%`} htmlFor={ids.use} hint="Below 100%, the provider rests between tasks in proportion to their run time. Applies at once.">
                    <input
                      id={ids.use}
                      type="range"
                      min={10}
                      max={100}
                      step={10}
                      value={settings.usePct}
                      aria-valuetext={`${settings.usePct}%`}
                      className="w-full accent-brand-600"
                      onChange={(e) => updateSettings({ usePct: Number(e.target.value) })}
                    />
                  </Field>
                  <PriceSetting
                    id={ids.price}
                    label="Price per task"
                    value={settings.price}
                    hint={restartNote ?? "Base units per execution; requesters with a lower max price skip you. 0 = free work."}
                    example="1"
                    disabled={running}
                    onChange={(price) => updateSettings({ price })}
                  />
                  <PriceSetting
                    id={ids.perUnit}
                    label="Price per MiB of model"
                    value={settings.pricePerUnit}
                    hint={restartNote ?? "Added per unit of work (1 MiB of the model's file): a task costs price + this × the model's MiB. 0 = flat price."}
                    example="0"
                    disabled={running}
                    onChange={(pricePerUnit) => updateSettings({ pricePerUnit })}
                  />
                </form>
              ) : (
                <p className="text-sm text-slate-500">Loading settings…</p>
              )}
            </Card>

            <Card title="Activity" id="activity">
              {v.activity.length === 0 && v.stats.recent.length === 0 ? (
                <p className="text-sm text-slate-500">Nothing yet.</p>
              ) : (
                <ul className="space-y-2 text-sm" aria-live="polite" data-testid="activity">
                  {v.stats.recent.slice(0, 4).map((t) => (
                    <li key={`${t.taskId}-${t.at}`} className="flex items-baseline justify-between gap-2">
                      <span className="min-w-0 truncate">
                        <span
                          className={cx(
                            "mr-1.5 inline-block size-1.5 rounded-full align-middle",
                            t.stage === "done" ? "bg-emerald-500" : t.stage === "failed" || t.stage === "undelivered" ? "bg-red-500" : "bg-slate-400",
                          )}
                          aria-hidden
                        />
                        Task <Mono>{t.taskId.slice(0, 14)}</Mono> {t.stage === "proving" ? "proving (zk)…" : t.stage}
                        {t.code ? ` (${t.code})` : ""}
                      </span>
                      <span className="shrink-0 tabular-nums text-xs text-slate-500">
                        {t.runMs !== undefined ? formatMs(t.runMs) : ""}
                        {t.proveMs !== undefined ? ` + proof ${formatMs(t.proveMs)}` : ""}
                      </span>
                    </li>
                  ))}
                  {v.activity.slice(0, 6).map((a) => (
                    <li key={a.id} className={cx("text-xs", a.tone === "error" ? "text-red-700" : a.tone === "warn" ? "text-amber-800" : a.tone === "ok" ? "text-emerald-700" : "text-slate-600")}>
                      <time className="mr-1.5 tabular-nums text-slate-400">{new Date(a.at).toLocaleTimeString()}</time>
                      {a.text}
                    </li>
                  ))}
                </ul>
              )}
            </Card>
          </div>
        </div>
      )}
    </div>
  );
}
