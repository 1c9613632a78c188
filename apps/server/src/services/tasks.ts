import {
  StunError,
  deserializeTensorMap,
  isTerminalStatus,
  tensorMapToJson,
  type TaskOutputs,
  serializeTensorMap,
  tensorMapFromJson,
  validateInputsAgainstSignature,
  type SubmitTask,
  type RunTask,
  DEFAULT_RUN_WAIT_SECONDS,
  type TaskStatus,
  type TaskView,
  type TensorInfo,
  type VerificationRequest,
} from "@stun/shared";
import type { AppContext, PlacedAtSubmit } from "../context";
import { newId } from "../ids";
import { holdTransfer, transferLeads } from "../ledger";
import { leadOf } from "../db/group-commit";
import { maybeInjectCanary } from "../qa/canaries";
import { sha256Hex } from "../blobs/blob-store";
import { pinLock } from "../blobs/pin-lock";
import { ensurePinnedBlob } from "../storage/blob-pins";
import { Prisma } from "../db/generated/client";
import { purgeTaskData } from "../storage/retention";
import { assertStorageRoom, storageCharge } from "../storage/quota";
import { getModelRow } from "../models/cache";
import type { ModelRow } from "../models/row";
import { TASK_VIEW_INCLUDE, storedOutputs, toTaskView } from "./task-view";
import { readTaskRow, type TaskViewRow } from "./task-rows";
import { MAX_TIE_BREAKERS, type StoredVerification } from "../tasks/verification";
import { prepareSealedInput, type PreparedInput } from "./sealed-input";
import { defaultMaxPrice } from "./quote";
import { type EscrowCheck, checkEscrow } from "./chain-escrow";
import { zkEscrowTerms } from "../zk/escrow-terms";
import { linkEscrow } from "../tasks/chain-escrow";

export function resolveVerification(v: VerificationRequest | undefined): StoredVerification {
  const mode = v?.mode ?? "auto";
  const replicas = mode === "none" || mode === "zk" ? 1 : (v?.replicas ?? 2);
  return { mode, replicas, argmax: v?.argmax ?? false, ...(mode === "auto" && v?.allowSingle ? { allowSingle: true } : {}) };
}

/** Executions the escrow must cover in the worst case (a zk task pays one: a result without a valid proof is not paid). */
export const maxExecutions = (v: StoredVerification): number => (v.mode === "none" || v.mode === "zk" ? 1 : v.replicas + MAX_TIE_BREAKERS);

/**
 * The verification a submit asks for. `requirements.privacy: "zk"` means mode zk (the input stays
 * out of what anyone but the server and the provider sees: the proof commits to it by hash);
 * `tee` tasks are sealed (sealed-input.ts).
 */
function verificationOf(body: SubmitTask): StoredVerification {
  const privacy = body.requirements?.privacy ?? "none";
  if (privacy === "zk") {
    if (body.verification?.mode !== undefined && body.verification.mode !== "zk") {
      throw new StunError("REQUIREMENTS_UNSATISFIABLE", `privacy "zk" needs verification mode "zk", not "${body.verification.mode}"`);
    }
    return resolveVerification({ ...body.verification, mode: "zk" });
  }
  return resolveVerification(body.verification);
}

/** A submit's inputs in the clear, checked against the model's signature. */
function prepareClearInput(body: SubmitTask, model: { inputs: unknown }): PreparedInput {
  const inputs = tensorMapFromJson(body.inputs ?? {});
  validateInputsAgainstSignature(inputs, model.inputs as TensorInfo[]);
  return {
    bytes: serializeTensorMap(inputs),
    meta: Object.fromEntries(Object.entries(inputs).map(([name, t]) => [name, { dtype: t.dtype, dims: t.dims }])),
    verification: verificationOf(body),
  };
}

/**
 * Submit: validate the inputs against the model's signature (a sealed task's box against the
 * provider it names), store them, then hold escrow and queue the task in one transaction. Only
 * after that commit is the task announced. With `escrow`, the on-chain escrow is checked first and
 * linked instead of the hold (services/chain-escrow.ts, tasks/chain-escrow.ts).
 */
export async function submitTask(app: AppContext, requesterId: string, body: SubmitTask): Promise<{ id: string; status: TaskStatus }> {
  const model = await getModelRow(app, body.modelId);
  const sealed = body.sealed !== undefined || body.requirements?.privacy === "tee";
  const { bytes: inputBytes, meta: inputMeta, verification } = sealed ? await prepareSealedInput(app, body) : prepareClearInput(body, model);

  const maxPrice = body.maxPrice !== undefined ? BigInt(body.maxPrice) : await defaultMaxPrice(app, model, body, verification.mode);
  if (verification.mode === "zk") {
    // 400 MODEL_NOT_PROVABLE for a model the compiler cannot prove; starts building its circuit.
    const { fee, constraints } = await app.zk.prepare(model);
    if (maxPrice < fee) {
      throw new StunError("REQUIREMENTS_UNSATISFIABLE", `maxPrice ${maxPrice} does not cover this model's proving fee ${fee} (${constraints} constraints)`, {
        fee: fee.toString(),
        constraints,
      });
    }
    verification.zk = { fee: fee.toString(), constraints };
  }
  const deadlineSeconds = body.deadlineSeconds ?? app.config.DEFAULT_DEADLINE_SECONDS;
  // Paid from an on-chain escrow: checked on chain before anything is stored or charged.
  const escrowLink = body.escrow ? await checkEscrow(app, body.escrow, await escrowCheckOf(app, body, model, requesterId, maxPrice, verification, deadlineSeconds)) : undefined;
  if (escrowLink) verification.chainEscrow = true;
  // A zk escrow pays all it holds to whoever proves the task (settleWithProof): that is its price.
  const price = escrowLink?.zkTaskId ? escrowLink.amount : maxPrice;
  const held = price * BigInt(maxExecutions(verification));
  // A small input is written by the submit's own statement (BlobStore.inlineWrite), else stored
  // first — and then refused before any byte is written when it cannot fit. The hold's storage
  // charge decides under lock either way (the same STORAGE_QUOTA refusal), so an inline input needs
  // no read ahead of it.
  const inputSha256 = sha256Hex(inputBytes);
  const inlineInput = app.blobs.inlineWrite?.(inputBytes, inputSha256);
  if (!inlineInput) {
    await assertStorageRoom(app, requesterId, inputBytes.byteLength, "this task's input");
    await app.blobs.put(inputBytes, inputSha256);
  }
  const id = escrowLink?.zkTaskId ?? newId("tsk");

  // Group commit: a burst of submits shares one transaction, and their holds one statement (the
  // units' leads: db/group-commit.ts). A hold's statement also charges the storage, takes the
  // input's pin lock and writes the Task row. Times are sent from here, as Prisma does, so every
  // timestamp column holds UTC.
  const now = Date.now();
  const insertTask = Prisma.sql`
    INSERT INTO "Task" (id, "requesterId", "modelId", status, priority, "inputSha256", "inputMeta", "inputBytes", verification,
                        requirements, "maxPrice", "escrowHeld", wanted, deadline, "createdAt", "updatedAt")
    SELECT ${id}, ${requesterId}, ${model.id}, 'queued', ${body.priority ?? 0}, ${inputSha256},
           ${JSON.stringify(inputMeta)}::jsonb, ${inputBytes.byteLength}, ${JSON.stringify(verification)}::jsonb,
           ${JSON.stringify(body.requirements ?? {})}::jsonb, ${price}, ${held}, ${verification.replicas},
           ${new Date(now + deadlineSeconds * 1000)}, ${new Date(now)}, ${new Date(now)}
    FROM (SELECT ${pinLock(inputSha256)}) AS pin`;
  const also = { storage: storageCharge(app, requesterId, inputBytes.byteLength, "this task's input"), alongside: inlineInput ? [insertTask, inlineInput] : [insertTask] };
  // Paid from an on-chain escrow: the escrow is linked instead of a hold (its own statement).
  const lead = escrowLink ? undefined : holdTransfer(requesterId, held, id, also);
  // With nothing else waiting for this instance's providers, the same transaction places the task
  // (Dispatcher.placeAtSubmit): no claim transaction of its own. Not a sealed or zk task (their
  // providers and circuits are the queue's to wait for), nor one of a model not calibrated yet.
  const placer = !sealed && verification.mode !== "zk" && model.calibration != null ? app.placer : undefined;
  let placed: PlacedAtSubmit | undefined;
  const giveBack = () => {
    if (placed) placer?.undo(placed);
    placed = undefined;
  };
  try {
    await app.commits.run(
      async (tx) => {
        giveBack(); // an earlier run of this unit rolled back (group commit runs it again)
        if (escrowLink) await linkEscrow(tx, { ...escrowLink, taskId: id, held }, also);
        if (!inlineInput) await ensurePinnedBlob(tx, app.blobs, inputSha256, inputBytes);
        placed = await placer?.placeAtSubmit(tx, {
          id,
          kind: "user",
          requesterId,
          requirements: body.requirements ?? {},
          verification,
          maxPrice: price,
          escrowHeld: held,
          wanted: verification.replicas,
          inputSha256,
          modelId: model.id,
          modelSha256: model.sha256,
          modelSize: model.sizeBytes,
          calibration: model.calibration,
        });
      },
      // The unit never reads what the hold answered: alone, it goes out behind the hold's statement.
      lead ? { lead: leadOf(transferLeads, lead), readsLead: false } : {},
    );
  } catch (e) {
    giveBack();
    throw e;
  }
  app.metrics.tasksSubmitted.inc();
  // After this request is answered: making a canary (a reference run, two blobs, a transaction)
  // must not delay the submit it follows.
  // (A sealed task's ciphertext can feed no canary: only its provider's key opens it.)
  if (!sealed) setImmediate(() => void maybeInjectCanary(app, model, id));
  app.bus.taskUpdated({ taskId: id, status: "queued", requesterId });
  if (placed) placer?.sendPlaced(placed);
  if (!placed || placed.left) app.bus.workAvailable();
  // The model's circuit build may have failed while this task was being stored (after the build
  // had already failed the model's open zk tasks): then this one fails too, now.
  const unbuildable = verification.mode === "zk" ? app.zk.failure(model.id) : undefined;
  if (unbuildable !== undefined) await app.zk.failQueued(model.id, unbuildable);
  return { id, status: "queued" };
}

/** What checkEscrow checks a submit's escrow against: the hold it replaces and, for a zk task, the proof's terms. */
async function escrowCheckOf(
  app: AppContext,
  body: SubmitTask,
  model: ModelRow,
  requesterId: string,
  maxPrice: bigint,
  verification: StoredVerification,
  deadlineSeconds: number,
): Promise<EscrowCheck> {
  const held = maxPrice * BigInt(maxExecutions(verification));
  const check: EscrowCheck = { requesterId, model, held, deadlineSeconds };
  if (verification.mode === "zk") check.zk = await zkEscrowTerms(app, model.id, tensorMapFromJson(body.inputs ?? {}));
  return check;
}

/** The requester's own task's row for its view (task-rows.ts: reads of the same turn share a statement); 404 for anyone else's. */
async function loadOwnTask(app: AppContext, requesterId: string, id: string): Promise<TaskViewRow> {
  const t = await readTaskRow(app, id);
  if (!t || t.requesterId !== requesterId) throw new StunError("TASK_NOT_FOUND", `no task ${id}`);
  return t;
}

/**
 * A task as its requester sees it; with `waitSeconds`, long-polls until it is terminal — or until
 * `signal` says the caller hung up: its waiter and timer go at once, not when the wait would have
 * ended (an answer nobody reads is then read and dropped).
 */
export async function getTask(app: AppContext, requesterId: string, id: string, waitSeconds = 0, signal?: AbortSignal): Promise<TaskView> {
  if (waitSeconds <= 0 || signal?.aborted) return toTaskView(app, await loadOwnTask(app, requesterId, id));
  const watch = app.bus.watchTask(id, waitSeconds * 1000, isTerminalStatus);
  const hungUp = () => watch.cancel();
  signal?.addEventListener("abort", hungUp, { once: true });
  try {
    // A task of this requester announced open in the last seconds (its submit, most often) is
    // waited for at once: the read would only find it open (recent-task-statuses.ts).
    if (!app.bus.recent.openFor(id, requesterId)) {
      const first = await loadOwnTask(app, requesterId, id);
      if (isTerminalStatus(first.status as TaskStatus)) return toTaskView(app, first);
    }
    await watch.settled;
  } finally {
    watch.cancel();
    signal?.removeEventListener("abort", hungUp);
  }
  return toTaskView(app, await loadOwnTask(app, requesterId, id));
}

/**
 * A submit that waits for the task's end (`POST /tasks/run`): the submit, then the long-poll a
 * client would send next, in one request. The task is durable and announced before the wait
 * begins, exactly as with a submit; a caller whose connection drops finds it in its task list.
 */
export async function runTask(app: AppContext, requesterId: string, input: RunTask, signal?: AbortSignal): Promise<TaskView> {
  const { wait, ...body } = input;
  const { id } = await submitTask(app, requesterId, body);
  return getTask(app, requesterId, id, wait ?? DEFAULT_RUN_WAIT_SECONDS, signal);
}

/** A completed task's outputs: 409 CONFLICT before it completed, 410 TASK_DATA_EXPIRED once purged. */
export async function getTaskOutputs(app: AppContext, requesterId: string, id: string): Promise<TaskOutputs> {
  const t = await loadOwnTask(app, requesterId, id);
  if (t.dataPurgedAt) {
    throw new StunError("TASK_DATA_EXPIRED", `task ${id}'s inputs and outputs were deleted at ${t.dataPurgedAt.toISOString()} (retention); its receipt and digests remain`, {
      dataPurgedAt: t.dataPurgedAt.toISOString(),
    });
  }
  if (t.status !== "completed" || !t.outputSha256) throw new StunError("CONFLICT", `task ${id} is ${t.status}: it has no outputs`);
  return { id, ...(await storedOutputs(app, { verification: t.verification, outputSha256: t.outputSha256 })) };
}

/** The requester deletes a finished task's inputs and outputs now (frees its quota); the task view after. */
export async function deleteTaskData(app: AppContext, requesterId: string, id: string): Promise<TaskView> {
  await purgeTaskData(app, requesterId, id);
  return getTask(app, requesterId, id);
}

export async function listTasks(app: AppContext, requesterId: string, opts: { limit: number; status?: string }): Promise<TaskView[]> {
  const rows = await app.db.prisma.task.findMany({
    where: { requesterId, ...(opts.status ? { status: opts.status } : {}) },
    orderBy: { createdAt: "desc" },
    take: opts.limit,
    include: TASK_VIEW_INCLUDE,
  });
  return Promise.all(rows.map((t) => toTaskView(app, t)));
}
