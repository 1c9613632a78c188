import { deserializeTensorMap, tensorMapToJson, type Receipt, type TaskOutputs, type TaskStatus, type TaskView } from "@stun/shared";
import { sealedBoxFromBytes } from "@stun/tee";
import type { AppContext } from "../context";
import { parseVerification, type StoredVerification } from "../tasks/verification";

type TaskRow = {
  id: string;
  status: string;
  modelId: string;
  verification: unknown;
  cost: bigint | null;
  receipt: unknown;
  outputSha256: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  correction?: unknown;
  createdAt: Date;
  completedAt: Date | null;
  dataPurgedAt?: Date | null;
  assignments: Array<{
    providerId: string;
    backend: string;
    status: string;
    verdict: string | null;
    outputDigest: string | null;
    timings: unknown;
  }>;
};

export const TASK_VIEW_INCLUDE = {
  assignments: {
    select: { providerId: true, backend: true, status: true, verdict: true, outputDigest: true, timings: true },
    orderBy: { createdAt: "asc" as const },
  },
};

function outcome(status: string, v: StoredVerification): TaskView["verification"]["outcome"] {
  if (status === "completed") return v.mode === "none" || (v.single && v.plan !== "referee") ? "single" : "accepted";
  if (status === "failed" || status === "expired") return "rejected";
  return "pending";
}

/** The public view of a task: outputs (from the blob store) once completed, and how it was checked. */
export async function toTaskView(app: AppContext, t: TaskRow): Promise<TaskView> {
  const v = parseVerification(t.verification);
  const view: TaskView = {
    id: t.id,
    status: t.status as TaskStatus,
    modelId: t.modelId,
    verification: {
      mode: v.mode,
      replicas: v.single ? 1 : v.replicas,
      outcome: outcome(t.status, v),
      executions: t.assignments.map((a) => ({
        providerId: a.providerId,
        backend: a.backend as TaskView["verification"]["executions"][number]["backend"],
        status: a.status,
        verdict: a.verdict,
        outputDigest: a.outputDigest,
        runMs: (a.timings as { runMs?: number } | null)?.runMs ?? null,
      })),
    },
    cost: t.cost === null ? null : t.cost.toString(),
    receipt: (t.receipt as Receipt | null) ?? null,
    createdAt: t.createdAt.toISOString(),
    completedAt: t.completedAt?.toISOString() ?? null,
  };
  if (t.dataPurgedAt) view.dataPurgedAt = t.dataPurgedAt.toISOString();
  else if (t.status === "completed" && t.outputSha256) Object.assign(view, await storedOutputs(app, { verification: t.verification, outputSha256: t.outputSha256 }));
  const c = t.correction as { at: string; previousOutputDigest: string; outputDigest: string } | null | undefined;
  if (c) view.correction = { at: c.at, previousOutputDigest: c.previousOutputDigest, outputDigest: c.outputDigest };
  if (t.errorCode) view.error = { code: t.errorCode, message: t.errorMessage ?? t.errorCode };
  return view;
}

/**
 * A completed task's outputs from their blob: tensors, or for a sealed task (privacy "tee") the box
 * sealed to the requester, which the server cannot open.
 */
export async function storedOutputs(app: AppContext, t: { verification: unknown; outputSha256: string }): Promise<Pick<TaskOutputs, "outputs" | "sealed">> {
  const blob = await app.blobs.get(t.outputSha256);
  if ((t.verification as { tee?: unknown } | null)?.tee) return { outputs: {}, sealed: sealedBoxFromBytes(blob) };
  return { outputs: tensorMapToJson(deserializeTensorMap(blob)) };
}
