/**
 * The Contribute tab's settings, kept in localStorage so a reload re-registers the same provider
 * name (the server keys a provider by account + name: same reputation, same history) with the
 * same backend, throttle and price, and resumes contributing when it was on before the reload.
 */
import type { BackendChoice } from "./gpu";

export interface ProviderSettings {
  name: string;
  backend: BackendChoice;
  /** WASM threads. */
  threads: number;
  /** CPU/GPU use, 10–100 (%): the duty cycle. */
  usePct: number;
  /** Price per execution, integer base units. */
  price: string;
  /** Price per unit of the model's work (1 unit = 1 MiB of its ONNX file; docs/PRICING.md), integer base units. */
  pricePerUnit: string;
  /** Contributing when the page was last left: a reload resumes. */
  running: boolean;
}

export const SETTINGS_KEY = "stun.provider.settings";

export function defaultThreads(cores: number): number {
  // onnxruntime-web's own default: half the cores, at most 4. Small models run best on one.
  return Math.max(1, Math.min(4, Math.ceil(cores / 2)));
}

function randomName(): string {
  const bytes = new Uint8Array(3);
  globalThis.crypto?.getRandomValues?.(bytes);
  const suffix = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("") || Math.random().toString(16).slice(2, 8);
  return `browser-${suffix}`;
}

export const isAmount = (s: string): boolean => /^(0|[1-9]\d{0,29})$/.test(s);
export const isProviderName = (s: string): boolean => s.trim().length >= 1 && s.trim().length <= 100;

export function loadSettings(cores: number): ProviderSettings {
  const defaults: ProviderSettings = { name: randomName(), backend: "auto", threads: defaultThreads(cores), usePct: 100, price: "1", pricePerUnit: "0", running: false };
  let stored: Partial<ProviderSettings> = {};
  try {
    stored = JSON.parse(window.localStorage.getItem(SETTINGS_KEY) ?? "{}") as Partial<ProviderSettings>;
  } catch {
    stored = {};
  }
  const s: ProviderSettings = {
    name: typeof stored.name === "string" && isProviderName(stored.name) ? stored.name : defaults.name,
    backend: stored.backend === "wasm" || stored.backend === "webgpu" || stored.backend === "auto" ? stored.backend : defaults.backend,
    threads: Number.isInteger(stored.threads) && stored.threads! >= 1 && stored.threads! <= Math.max(1, cores) ? stored.threads! : defaults.threads,
    usePct: Number.isFinite(stored.usePct) ? Math.min(100, Math.max(10, Math.round(stored.usePct!))) : defaults.usePct,
    price: typeof stored.price === "string" && isAmount(stored.price) ? stored.price : defaults.price,
    pricePerUnit: typeof stored.pricePerUnit === "string" && isAmount(stored.pricePerUnit) ? stored.pricePerUnit : defaults.pricePerUnit,
    running: stored.running === true,
  };
  saveSettings(s); // the generated name must survive the next reload
  return s;
}

export function saveSettings(s: ProviderSettings): void {
  try {
    window.localStorage.setItem(SETTINGS_KEY, JSON.stringify(s));
  } catch {
    // storage full or refused: settings last for this page only
  }
}
