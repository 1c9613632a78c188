/**
 * An ONNX worker process (forked by ./worker-pool.ts through ./worker-bootstrap.mjs, the run
 * budget as its one argument): announces it is ready, then answers each `{ id, job }` with
 * `{ id, ok: true, result }` or `{ id, ok: false, code, message }` (code: a StunError's, when it
 * was one). It exits when the server goes (its IPC channel closes).
 */
import { StunError } from "@stun/shared";
import type { RunBudget } from "./run-budget";
import { runOnnxJob, type OnnxJob } from "./worker-jobs";

const send = process.send?.bind(process);
if (!send) throw new Error("worker-main.ts runs only as a forked worker process (onnx/worker-pool.ts)");
const budget = JSON.parse(process.argv[2] ?? "") as RunBudget;

process.on("message", async ({ id, job }: { id: number; job: OnnxJob }) => {
  try {
    send({ id, ok: true, result: await runOnnxJob(job, budget) });
  } catch (e) {
    const message = ((e instanceof Error ? e.message : String(e)).split("\n")[0] ?? "").slice(0, 500);
    send({ id, ok: false, code: e instanceof StunError ? e.code : undefined, message });
  }
});
process.on("disconnect", () => process.exit(0));
send({ ready: true });
