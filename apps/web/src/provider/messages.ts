/**
 * Messages between the Contribute page and its provider worker (worker.ts). The worker owns the
 * socket.io connection and onnxruntime-web, so tensors never cross this boundary: the page sends
 * commands and gets status, counters and errors back.
 */
import type { GpuInfo } from "./gpu";

export type WebBackend = "wasm" | "webgpu";

export interface StartConfig {
  /** The Stun server's origin (the page's own). */
  server: string;
  apiKey: string;
  /** Provider name: the server keys providers by (account, name), so a reload keeps the identity. */
  name: string;
  backend: WebBackend;
  /** WASM intra-op threads (1 without cross-origin isolation). */
  threads: number;
  /** Share of time spent computing, 0.1–1: after a task that ran t ms, rest t·(1−duty)/duty ms. */
  duty: number;
  /** Price per execution, integer base units. */
  price: string;
  /** Price per unit of the model's work (docs/PRICING.md): an execution costs price + pricePerUnit × units. */
  pricePerUnit: string;
  slots: number;
  region?: string;
  /** Start-up benchmark duration (ms); 0 skips it. */
  benchmarkMs: number;
  cores: number;
  memoryMb: number;
  /** The WebGPU adapter when the backend is webgpu and the adapter is a real GPU. */
  gpu?: GpuInfo;
  userAgent: string;
}

export type ToWorker =
  | { type: "start"; config: StartConfig }
  /** Finish (or give back) running work, leave the network, keep onnxruntime loaded. */
  | { type: "pause"; graceMs?: number }
  | { type: "duty"; duty: number }
  /** The page is going away: give every assignment back at once and disconnect. */
  | { type: "unload" };

export type Phase = "loading" | "benchmarking" | "connecting" | "online" | "reconnecting" | "pausing" | "paused";

/** `proving`: a zk task's model ran and its proof is being made. */
export type TaskStage = "assigned" | "proving" | "done" | "failed" | "cancelled" | "released" | "undelivered";

/** One task's fate, as the agent reports it to the worker. */
export interface TaskEvent {
  type: "task";
  stage: TaskStage;
  assignmentId: string;
  taskId: string;
  runMs?: number;
  fetchMs?: number;
  loadMs?: number;
  /** A zk task's proving time (witness + Groth16), ms. */
  proveMs?: number;
  code?: string;
  message?: string;
}

/**
 * Counters since the worker started, posted at most a few times a second (a small model can run
 * thousands of tasks a second; one message per task would swamp the page).
 */
export interface WorkerStats {
  done: number;
  failed: number;
  /** Results the server did not take (lease lapsed, cancelled, rejected). */
  undelivered: number;
  active: number;
  runMsTotal: number;
  lastRunMs?: number;
  downloads: number;
  cacheHits: number;
  lastError?: { code: string; message: string; at: number };
  /** The latest few tasks, newest first. */
  recent: Array<{ taskId: string; stage: TaskStage; runMs?: number; proveMs?: number; code?: string; at: number }>;
  /** zk proofs made, and their total time (ms). */
  proofs?: number;
  proveMsTotal?: number;
}

export type FromWorker =
  | { type: "phase"; phase: Phase; detail?: string }
  | {
      type: "runtime";
      backend: WebBackend;
      ortVersion: string;
      threads: number;
      crossOriginIsolated: boolean;
      benchmarkIps?: number;
      storage: "indexeddb" | "memory";
      note?: string;
    }
  | { type: "registered"; providerId: string; name: string }
  | TaskEvent
  | { type: "stats"; stats: WorkerStats }
  | { type: "model"; sha256: string; source: "cache" | "download"; bytes: number; ms: number }
  /** A zk circuit's witness generator and proving key came from the cache or the network. */
  | { type: "circuit"; circuitHash: string; source: "cache" | "download"; bytes: number; ms: number }
  | { type: "warning"; message: string }
  /** Retrying cannot fix this (bad key, rejected registration, backend unavailable): the worker stopped. */
  | { type: "fatal"; code: string; message: string };
