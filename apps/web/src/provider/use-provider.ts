"use client";
/**
 * The Contribute tab's controller: owns the provider worker, the settings in localStorage, the
 * stake check and the account polling, and turns the worker's events into one {@link ProviderView}.
 *
 * It is a module-level singleton, not component state: moving to another page of the app unmounts
 * /provide but keeps this browser contributing (until Pause, sign-out or closing the tab), and
 * coming back shows the live state. Components read it with {@link useProvider}.
 */
import { useEffect, useSyncExternalStore } from "react";
import type { AccountView } from "@stun/shared";
import { getApiKey, useApiKey } from "@/lib/api-key";
import { toUiError } from "@/lib/errors";
import { fetchWebConfig, type WebConfig } from "@/lib/rest";
import { faucetFunds, getAccount, stakeFunds } from "./account-api";
import { type BackendChoice, type BackendDecision, type GpuProbe, chooseBackend, probeWebGpu } from "./gpu";
import type { FromWorker, StartConfig, WebBackend, WorkerStats } from "./messages";
import { type ProviderSettings, loadSettings, saveSettings } from "./settings";

export type Status = "loading" | "signed-out" | "idle" | "starting" | "online" | "reconnecting" | "pausing" | "paused" | "error";

export type Runtime = Omit<Extract<FromWorker, { type: "runtime" }>, "type">;

export interface ActivityItem {
  id: number;
  at: number;
  text: string;
  tone: "info" | "warn" | "error" | "ok";
}

export interface ProviderView {
  status: Status;
  detail?: string;
  probe?: GpuProbe;
  decision?: BackendDecision;
  runtime?: Runtime;
  providerId?: string;
  stats: WorkerStats;
  /** Inferences per second over the last 10 s. */
  throughput: number;
  lastError?: { code: string; message: string; at: number };
  account?: AccountView;
  /** (balance + escrow + stake) now minus when this provider registered. */
  earned?: bigint;
  stakeNote?: { tone: "info" | "warn"; text: string };
  webConfig?: WebConfig;
  crossOriginIsolated: boolean;
  cores: number;
  /** Resumed on load because the provider was on before the page reloaded. */
  resumed: boolean;
  activity: ActivityItem[];
}

/**
 * The stake multiple until the server's is known: the server's default SLASH_MULTIPLE. The real
 * one comes from /web-config.json (`slashMultiple`): stake must cover that many × the price of each
 * live execution.
 */
export const DEFAULT_STAKE_MULTIPLE = 10n;
/** What local mode funds and stakes when a provider starts with no stake at all. */
export const AUTO_STAKE = 1000n;
const SLOTS = 1;
const LIVE: Status[] = ["starting", "online", "reconnecting", "pausing"];

const EMPTY_STATS: WorkerStats = { done: 0, failed: 0, undelivered: 0, active: 0, runMsTotal: 0, downloads: 0, cacheHits: 0, recent: [] };

const total = (a: AccountView) => BigInt(a.balance) + BigInt(a.escrow) + BigInt(a.stake);

/** The server's stake multiple from its web config (DEFAULT_STAKE_MULTIPLE when not known or malformed). */
export function stakeMultiple(config: Pick<WebConfig, "slashMultiple"> | undefined): bigint {
  const m = config?.slashMultiple;
  return m !== undefined && /^\d+$/.test(m) ? BigInt(m) : DEFAULT_STAKE_MULTIPLE;
}

/** The stake paid work at `price` needs: multiple × price for each slot (0 for a malformed price). */
export function stakeNeeded(price: string, multiple: bigint = DEFAULT_STAKE_MULTIPLE): bigint {
  try {
    return multiple * BigInt(price) * BigInt(SLOTS);
  } catch {
    return 0n;
  }
}

interface Snapshot {
  view: ProviderView;
  settings: ProviderSettings | null;
}

class ProviderController {
  private snap: Snapshot = {
    view: { status: "loading", stats: EMPTY_STATS, throughput: 0, crossOriginIsolated: false, cores: 1, resumed: false, activity: [] },
    settings: null,
  };
  private readonly listeners = new Set<() => void>();
  private initialized = false;
  private apiKeyKnown = false;
  private worker: { worker: Worker; backend: WebBackend; threads: number } | null = null;
  private baseline: bigint | null = null;
  private samples: Array<{ t: number; done: number }> = [];
  private activityId = 0;

  // ---- store plumbing (useSyncExternalStore) ----
  readonly subscribe = (l: () => void): (() => void) => {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  };
  readonly getSnapshot = (): Snapshot => this.snap;
  private static readonly SERVER: Snapshot = {
    view: { status: "loading", stats: EMPTY_STATS, throughput: 0, crossOriginIsolated: false, cores: 1, resumed: false, activity: [] },
    settings: null,
  };
  readonly getServerSnapshot = (): Snapshot => ProviderController.SERVER;

  private get view(): ProviderView {
    return this.snap.view;
  }
  private get settings(): ProviderSettings | null {
    return this.snap.settings;
  }
  private patch(p: Partial<ProviderView>): void {
    this.snap = { ...this.snap, view: { ...this.snap.view, ...p } };
    for (const l of this.listeners) l();
  }
  private log(text: string, tone: ActivityItem["tone"] = "info"): void {
    const item = { id: ++this.activityId, at: Date.now(), text, tone };
    this.patch({ activity: [item, ...this.view.activity].slice(0, 12) });
  }

  readonly updateSettings = (p: Partial<ProviderSettings>): void => {
    if (!this.settings) return;
    const settings = { ...this.settings, ...p };
    saveSettings(settings);
    this.snap = { ...this.snap, settings };
    for (const l of this.listeners) l();
    if (p.usePct !== undefined) this.worker?.worker.postMessage({ type: "duty", duty: settings.usePct / 100 });
  };

  /** Once per page load (client only): settings, WebGPU probe, server config, timers, unload hook. */
  init(): void {
    if (this.initialized) return;
    this.initialized = true;
    const cores = Math.max(1, navigator.hardwareConcurrency || 1);
    this.snap = { ...this.snap, settings: loadSettings(cores) };
    this.patch({ crossOriginIsolated: window.crossOriginIsolated === true, cores });
    void probeWebGpu().then((probe) => this.patch({ probe }));
    void fetchWebConfig().then(
      (webConfig) => this.patch({ webConfig }),
      () => undefined,
    );
    // Leaving the page gives running work back at once (the server re-queues it elsewhere).
    window.addEventListener("pagehide", () => this.worker?.worker.postMessage({ type: "unload" }));
    // Throughput from the done counter, sampled every second; the account every 5 s while contributing.
    setInterval(() => this.sampleThroughput(), 1000);
    setInterval(() => {
      if (LIVE.includes(this.view.status) || this.view.status === "paused") void this.refreshAccount();
    }, 5000);
  }

  /** `?backend=webgpu|wasm|auto` on /provide sets the backend (tests use it). */
  applyUrl(search: string): void {
    const b = new URLSearchParams(search).get("backend");
    if ((b === "wasm" || b === "webgpu" || b === "auto") && this.settings && this.settings.backend !== b && !LIVE.includes(this.view.status)) {
      this.updateSettings({ backend: b as BackendChoice });
    }
  }

  /** The signed-in key changed (undefined: not known yet). Resumes after a reload; stops on sign-out. */
  onApiKey(key: string | null | undefined): void {
    if (key === undefined) return;
    const first = !this.apiKeyKnown;
    this.apiKeyKnown = true;
    if (!key) {
      if (LIVE.includes(this.view.status)) this.stopForSignOut();
      this.patch({ status: "signed-out", account: undefined, earned: undefined });
      return;
    }
    if (this.view.status === "loading" || this.view.status === "signed-out") this.patch({ status: "idle" });
    void this.refreshAccount();
    if (first && this.settings?.running) void this.start({ resumed: true });
  }

  private stopForSignOut(): void {
    this.worker?.worker.postMessage({ type: "pause", graceMs: 0 });
    this.updateSettings({ running: false });
    this.log("Signed out: stopped contributing", "warn");
  }

  private sampleThroughput(): void {
    const now = performance.now();
    const ring = this.samples;
    ring.push({ t: now, done: this.view.stats.done });
    while (ring.length > 1 && now - ring[0]!.t > 10_000) ring.shift();
    const first = ring[0]!;
    const dt = (now - first.t) / 1000;
    const throughput = dt > 0 ? (this.view.stats.done - first.done) / dt : 0;
    if (Math.abs(throughput - this.view.throughput) > 1e-9) this.patch({ throughput });
  }

  readonly refreshAccount = async (): Promise<void> => {
    if (!getApiKey()) return;
    try {
      const account = await getAccount();
      this.patch({ account, ...(this.baseline !== null ? { earned: total(account) - this.baseline } : {}) });
    } catch {
      // shown when an action fails; polling stays quiet
    }
  };

  private onMessage(m: FromWorker): void {
    switch (m.type) {
      case "phase": {
        const status: Status = m.phase === "online" ? "online" : m.phase === "reconnecting" ? "reconnecting" : m.phase === "pausing" ? "pausing" : m.phase === "paused" ? "paused" : "starting";
        if (this.view.status === "signed-out" && m.phase === "paused") break;
        this.patch({ status, detail: m.detail });
        if (m.phase === "paused") this.log("Paused: left the network");
        if (m.phase === "reconnecting" && m.detail) this.log(m.detail, "warn");
        break;
      }
      case "runtime": {
        const { type: _t, ...runtime } = m;
        this.patch({ runtime });
        this.log(
          `onnxruntime-web ${m.ortVersion} ready on ${m.backend === "wasm" ? `WASM (${m.threads} thread${m.threads === 1 ? "" : "s"})` : "WebGPU"}${m.benchmarkIps !== undefined ? `, benchmark ${m.benchmarkIps} inf/s` : ""}`,
        );
        if (m.note) this.log(m.note, "warn");
        break;
      }
      case "registered":
        this.patch({ providerId: m.providerId });
        this.log(`Online as ${m.name} (${m.providerId})`, "ok");
        void getAccount().then(
          (account) => {
            if (this.baseline === null) this.baseline = total(account);
            this.patch({ account, earned: total(account) - this.baseline });
          },
          () => undefined,
        );
        break;
      case "stats":
        this.patch({ stats: m.stats, ...(m.stats.lastError ? { lastError: m.stats.lastError } : {}) });
        break;
      case "model":
        this.log(m.source === "download" ? `Downloaded model ${m.sha256.slice(0, 12)}… (${m.bytes} bytes, sha256 checked)` : `Model ${m.sha256.slice(0, 12)}… from the browser cache`);
        break;
      case "circuit":
        this.log(
          m.source === "download" ? `Downloaded zk circuit ${m.circuitHash.slice(0, 12)}… (${m.bytes} bytes, proving key checked)` : `zk circuit ${m.circuitHash.slice(0, 12)}… from the browser cache`,
        );
        break;
      case "warning":
        this.log(m.message, "warn");
        break;
      case "fatal":
        this.patch({ status: "error", detail: undefined, lastError: { code: m.code, message: m.message, at: Date.now() } });
        this.log(`${m.code}: ${m.message}`, "error");
        if (this.settings?.running) this.updateSettings({ running: false });
        break;
      case "task":
        break; // folded into stats by the worker
    }
  }

  /** Local mode with no stake: fund and stake a little so paid work can come; otherwise say what is missing. */
  private async checkStake(price: string): Promise<void> {
    const config = this.view.webConfig ?? (await fetchWebConfig().catch(() => undefined));
    if (config && !this.view.webConfig) this.patch({ webConfig: config });
    const multiple = stakeMultiple(config);
    const need = stakeNeeded(price, multiple);
    let account = await getAccount();
    const stake = BigInt(account.stake);
    if (need === 0n || stake >= need) {
      this.patch({ account, stakeNote: undefined });
      return;
    }
    if (stake === 0n && config?.faucet) {
      const amount = AUTO_STAKE > need ? AUTO_STAKE : need;
      await faucetFunds(amount.toString());
      account = await stakeFunds(amount.toString());
      const text = `Local mode: added ${amount} test units from the faucet and staked them, so this provider can take paid work (stake must cover ${multiple}× the price of each task it runs).`;
      this.patch({ account, stakeNote: { tone: "info", text } });
      this.log(text, "ok");
      return;
    }
    const text = `Paid work needs a stake of at least ${need} (${multiple} × price ${price}); this account has ${stake}. Stake more below, or set the price to 0 to take free work only.`;
    this.patch({ account, stakeNote: { tone: "warn", text } });
    this.log(text, "warn");
  }

  readonly start = async (opts: { resumed?: boolean } = {}): Promise<void> => {
    const s = this.settings;
    const key = getApiKey();
    if (!s || LIVE.includes(this.view.status)) return;
    if (!key) {
      this.patch({ status: "signed-out" });
      return;
    }
    this.patch({ status: "starting", detail: "checking WebGPU", lastError: undefined, resumed: opts.resumed === true });
    const threads = window.crossOriginIsolated === true ? s.threads : 1;
    const probe = this.view.probe ?? (await probeWebGpu());
    const decision = chooseBackend(s.backend, probe, threads);
    this.patch({ probe, decision });
    if (!decision.ok) {
      this.patch({ status: "error", detail: undefined, lastError: { code: "WEBGPU_UNAVAILABLE", message: decision.reason, at: Date.now() } });
      this.log(decision.reason, "error");
      return;
    }
    this.log(decision.reason);
    this.patch({ detail: "checking stake" });
    try {
      await this.checkStake(s.price);
    } catch (e) {
      const err = toUiError(e);
      if (err.code === "UNAUTHORIZED") {
        this.patch({ status: "error", detail: undefined, lastError: { code: err.code, message: `the saved API key was refused: ${err.message}`, at: Date.now() } });
        return;
      }
      this.log(`Could not check the stake (${err.code}: ${err.message}); starting anyway`, "warn");
    }
    let w = this.worker;
    if (w && (w.backend !== decision.backend || w.threads !== threads)) {
      w.worker.terminate();
      w = null;
    }
    if (!w) {
      const created = new Worker(new URL("./worker.ts", import.meta.url), { type: "module", name: "stun-provider" });
      created.onmessage = (e: MessageEvent<FromWorker>) => this.onMessage(e.data);
      created.onerror = (e) => {
        e.preventDefault();
        this.patch({ status: "error", detail: undefined, lastError: { code: "WORKER_FAILED", message: e.message || "the provider worker failed to start", at: Date.now() } });
      };
      w = { worker: created, backend: decision.backend, threads };
      this.worker = w;
    }
    const gpu = decision.backend === "webgpu" && probe.available ? probe.info : undefined;
    const nav = navigator as Navigator & { deviceMemory?: number };
    const config: StartConfig = {
      server: window.location.origin,
      apiKey: key,
      name: s.name.trim(),
      backend: decision.backend,
      threads,
      duty: s.usePct / 100,
      price: s.price,
      pricePerUnit: s.pricePerUnit,
      slots: SLOTS,
      benchmarkMs: 300,
      cores: Math.max(1, navigator.hardwareConcurrency || 1),
      memoryMb: nav.deviceMemory ? nav.deviceMemory * 1024 : 0,
      ...(gpu ? { gpu } : {}),
      userAgent: navigator.userAgent,
    };
    this.baseline = null;
    this.samples = [];
    w.worker.postMessage({ type: "start", config });
    this.updateSettings({ running: true });
  };

  readonly pause = (): void => {
    this.updateSettings({ running: false });
    if (!this.worker) {
      this.patch({ status: "paused" });
      return;
    }
    this.patch({ status: "pausing" });
    this.worker.worker.postMessage({ type: "pause" });
  };

  readonly stake = async (amount: string): Promise<AccountView> => {
    const account = await stakeFunds(amount);
    this.patch({ account });
    this.log(`Staked ${amount}`, "ok");
    const s = this.settings;
    if (s && BigInt(account.stake) >= stakeNeeded(s.price, stakeMultiple(this.view.webConfig))) this.patch({ stakeNote: undefined });
    return account;
  };
}

let controller: ProviderController | undefined;
const getController = (): ProviderController => (controller ??= new ProviderController());

export function useProvider() {
  const apiKey = useApiKey();
  const c = getController();
  const { view, settings } = useSyncExternalStore(c.subscribe, c.getSnapshot, c.getServerSnapshot);
  useEffect(() => {
    c.init();
    c.applyUrl(window.location.search);
  }, [c]);
  useEffect(() => c.onApiKey(apiKey), [c, apiKey]);
  return { view, settings, updateSettings: c.updateSettings, start: c.start, pause: c.pause, stake: c.stake, refreshAccount: c.refreshAccount, signedIn: Boolean(apiKey) };
}
