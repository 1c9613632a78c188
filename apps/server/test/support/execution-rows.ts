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
