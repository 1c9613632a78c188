/**
 * What the agent's tasks came to since the last summary: the `info` log's line a minute
 * (`{"msg":"tasks","ran":12000,"failed":0,"delivered":12000,"windowMs":60000}`), where each task's
 * own lines are `debug`.
 */
import type { TaskOutcome } from "@stun/provider-core";

export type TaskSummary = { ran: number; failed: number; windowMs: number } & Partial<Record<TaskOutcome["outcome"], number>>;

export class TaskTally {
  private ran = 0;
  private failed = 0;
  private outcomes: Partial<Record<TaskOutcome["outcome"], number>> = {};
  private since = performance.now();

  /** An execution ended: with a result (`ok`) or with the error it reports. */
  executed(ok: boolean): void {
    if (ok) this.ran++;
    else this.failed++;
  }

  /** How an accepted assignment ended (delivered, rejected, lapsed, cancelled, released, lost). */
  finished(outcome: TaskOutcome["outcome"]): void {
    this.outcomes[outcome] = (this.outcomes[outcome] ?? 0) + 1;
  }

  /** The counts since the last take, and starts afresh; undefined when nothing happened. */
  take(): TaskSummary | undefined {
    const now = performance.now();
    const summary: TaskSummary = { ran: this.ran, failed: this.failed, ...this.outcomes, windowMs: Math.round(now - this.since) };
    const empty = this.ran === 0 && this.failed === 0 && Object.keys(this.outcomes).length === 0;
    this.ran = 0;
    this.failed = 0;
    this.outcomes = {};
    this.since = now;
    return empty ? undefined : summary;
  }
}
