/**
 * An ONNX worker thread (started by ./worker-pool.ts through ./worker-bootstrap.mjs): announces
 * it is ready, then answers each `{ id, job }` with `{ id, ok: true, result }` (tensor bytes
 * transferred) or `{ id, ok: false, code, message }` (code: a StunError's, when it was one).
 */
import { parentPort, workerData } from "node:worker_threads";
import { StunError } from "@stun/shared";
import type { RunBudget } from "./run-budget";
import { runOnnxJob, type OnnxJob } from "./worker-jobs";

const port = parentPort;
if (!port) throw new Error("worker-main.ts runs only as a worker thread (onnx/worker-pool.ts)");
const { budget } = workerData as { budget: RunBudget };

port.on("message", async ({ id, job }: { id: number; job: OnnxJob }) => {
  try {
    const { result, transfer } = await runOnnxJob(job, budget);
    port.postMessage({ id, ok: true, result }, transfer);
  } catch (e) {
    const message = ((e instanceof Error ? e.message : String(e)).split("\n")[0] ?? "").slice(0, 500);
    port.postMessage({ id, ok: false, code: e instanceof StunError ? e.code : undefined, message });
  }
});
port.postMessage({ ready: true });
