/**
 * Cancellations across instances. The instance that ends a task cancels its live executions in
 * the database and tells the providers connected to it (tasks/lifecycle.ts sendCancellations);
 * a provider connected to another instance hears of it here: every instance hears every task's
 * terminal update (the Redis relay), and sends `task:cancel` for the executions of that task its
 * own providers hold that the database says are cancelled. Locally ended tasks find nothing left.
 */
import { PROVIDER_EVENTS, isTerminalStatus, type Cancel } from "@stun/shared";
import type { AppContext } from "../context";

export function relayCancellations(app: AppContext): () => void {
  return app.bus.onTask((u) => {
    if (!isTerminalStatus(u.status)) return;
    const held: Array<{ providerId: string; assignmentId: string }> = [];
    for (const p of app.providers.list()) for (const [assignmentId, ref] of p.active) if (ref.taskId === u.taskId) held.push({ providerId: p.id, assignmentId });
    if (held.length === 0) return;
    void app.db.prisma.assignment
      .findMany({ where: { id: { in: held.map((h) => h.assignmentId) }, status: "cancelled" }, select: { id: true } })
      .then((rows) => {
        const cancelled = new Set(rows.map((r) => r.id));
        for (const h of held) {
          if (!cancelled.has(h.assignmentId)) continue;
          const p = app.providers.get(h.providerId);
          if (!p?.active.has(h.assignmentId)) continue;
          app.providers.free(h.providerId, h.assignmentId);
          const msg: Cancel = { assignmentId: h.assignmentId, reason: `task ${u.status}` };
          p.socket.emit(PROVIDER_EVENTS.cancel, msg);
        }
      })
      .catch((err: unknown) => app.log.warn({ err, taskId: u.taskId }, "relaying cancellations failed"));
  });
}
