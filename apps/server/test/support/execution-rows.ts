import { serializeTensorMap, type WireTensor } from "@stun/shared";
import { sha256Hex } from "../../src/blobs/blob-store";
import type { ResultWrite } from "../../src/qa/result-statement";
import { api, toJsonTensor } from "./api";
import type { TestNetwork } from "./network";

let n = 0;

/**
 * A provider of `accountId` with one execution of a one-execution `none` task, written as the
 * dispatcher writes them: a new provider, model and task each time, the execution at `price` in
 * `status`, the task in `taskStatus`. Returns their ids.
 */
export async function insertExecution(
  net: TestNetwork,
  opts: { accountId: string; price: bigint; status: string; taskStatus: string },
): Promise<{ providerId: string; taskId: string; assignmentId: string }> {
  const db = net.db.prisma;
  const i = ++n;
  const suffix = `${process.pid}_${i}`;
  const providerId = `prv_rows_${suffix}`;
  const modelId = `mdl_rows_${suffix}`;
  const taskId = `tsk_rows_${suffix}`;
  const assignmentId = `asg_rows_${suffix}`;
  await db.provider.create({ data: { id: providerId, accountId: opts.accountId, name: `p${i}`, kind: "native", backend: "cpu", region: "local", price: opts.price, specs: {} } });
  await db.model.create({ data: { id: modelId, sha256: `${process.pid}${String(i).padStart(8, "0")}`.padStart(64, "0"), name: "m", ownerId: opts.accountId, sizeBytes: 1, inputs: [], outputs: [] } });
  const far = new Date(Date.now() + 3_600_000);
  await db.task.create({
    data: {
      id: taskId,
      requesterId: net.accountId,
      modelId,
      status: opts.taskStatus,
      inputSha256: "0".repeat(64),
      inputMeta: {},
      verification: { mode: "none", replicas: 1, argmax: false },
      requirements: {},
      maxPrice: opts.price,
      escrowHeld: 0n,
      wanted: 1,
      dispatched: 1,
      deadline: far,
    },
  });
  await db.assignment.create({ data: { id: assignmentId, taskId, providerId, status: opts.status, backend: "cpu", price: opts.price, leaseUntil: far } });
  return { providerId, taskId, assignmentId };
}

/**
 * A `redundant` task submitted through the API wanting `replicas` executions, all dispatched as the
 * dispatcher writes them, each on a new provider of `accountId`. Returns the task's and executions' ids.
 */
export async function dispatchedReplicas(
  net: TestNetwork,
  opts: { modelId: string; input: WireTensor; replicas: number; price: bigint; accountId: string },
): Promise<{ taskId: string; executions: Array<{ providerId: string; assignmentId: string }> }> {
  const db = net.db.prisma;
  const res = await api(net.url, "POST", "/tasks", {
    key: net.apiKey,
    json: { modelId: opts.modelId, inputs: { x: toJsonTensor(opts.input) }, verification: { mode: "redundant", replicas: opts.replicas }, maxPrice: "100" },
  });
  if (res.status !== 202) throw new Error(`submit: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  const taskId: string = res.body.id;
  const executions: Array<{ providerId: string; assignmentId: string }> = [];
  for (let r = 0; r < opts.replicas; r++) {
    const i = ++n;
    const providerId = `prv_replica_${process.pid}_${i}`;
    const assignmentId = `asg_replica_${process.pid}_${i}`;
    await db.provider.create({ data: { id: providerId, accountId: opts.accountId, name: `replica${i}`, kind: "native", backend: "cpu", region: "local", price: opts.price, specs: {} } });
    await db.assignment.create({ data: { id: assignmentId, taskId, providerId, status: "assigned", backend: "cpu", price: opts.price, leaseUntil: new Date(Date.now() + 3_600_000) } });
    executions.push({ providerId, assignmentId });
  }
  await db.task.update({ where: { id: taskId }, data: { status: "assigned", dispatched: opts.replicas, wanted: opts.replicas } });
  return { taskId, executions };
}

/**
 * One execution's result as handle-result.ts hands it to its statement: the output written by the
 * statement where the store keeps blobs of its size in the database, else stored first.
 */
export async function resultWriteOf(net: TestNetwork, taskId: string, assignmentId: string, output: WireTensor): Promise<ResultWrite & { stored: Uint8Array }> {
  const stored = serializeTensorMap({ y: output });
  const sha = sha256Hex(stored);
  const inline = net.server.app.blobs.inlineWrite?.(stored, sha) !== undefined;
  if (!inline) await net.server.app.blobs.put(stored, sha);
  return {
    assignmentId,
    taskId,
    outputSha256: sha,
    outputDigest: sha,
    outputMeta: { y: { dtype: output.dtype, dims: output.dims } },
    timings: { fetchMs: 0, loadMs: 0, runMs: 1 },
    stored,
    ...(inline ? { inlineOutput: stored } : {}),
  };
}
