import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** Prometheus metrics served at /metrics. One registry per server instance (tests run several). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    tasksSubmitted: new Counter({ name: "stun_tasks_submitted_total", help: "Tasks accepted for execution", registers: [registry] }),
    canaries: new Counter({ name: "stun_canaries_total", help: "Known-answer tasks QA mixed into the stream", registers: [registry] }),
    canariesSkipped: new Counter({
      name: "stun_canaries_skipped_total",
      help: "Canary draws that made no canary (qa/canaries.ts), by reason: not-refereeable, no-source, source-gone, source-busy, too-widely-seen, error",
      labelNames: ["reason"],
      registers: [registry],
    }),
    tasksFinished: new Counter({
      name: "stun_tasks_finished_total",
      help: "Tasks that reached a terminal status",
      labelNames: ["status"],
      registers: [registry],
    }),
    verdicts: new Counter({
      name: "stun_execution_verdicts_total",
      help: "Execution verdicts from QA",
      labelNames: ["verdict"],
      registers: [registry],
    }),
    refereeAudits: new Counter({
      name: "stun_referee_audits_total",
      help: "Agreements of replicas the server's reference run re-checked before delivery",
      registers: [registry],
    }),
    referenceRuns: new Counter({
      name: "stun_reference_runs_total",
      help: "The server's reference runs for a result's judge, by when they started: ahead (the result's audit was expected, qa/result-plan.ts) or on-demand (the judge asked, and the result's unit ran again)",
      labelNames: ["started"],
      registers: [registry],
    }),
    assignmentsLost: new Counter({
      name: "stun_assignments_lost_total",
      help: "Assignments re-queued (provider gone, lease lapsed or provider error)",
      labelNames: ["reason"],
      registers: [registry],
    }),
    dispatchClaims: new Counter({
      name: "stun_dispatch_claims_total",
      help: "The dispatcher's claim transactions by what they found: placed (some work handed out), unplaced (queued work none of this instance's providers could take now), empty (no queued work); its probes without locks, of a queue last seen empty or after a claim on PostgreSQL that found nothing to place (it may have skipped rows other transactions held): probed (work found, a claim follows), skipped (empty); and tasks placed by their submit's own transaction: submit",
      labelNames: ["outcome"],
      registers: [registry],
    }),
    providersOnline: new Gauge({ name: "stun_providers_online", help: "Providers connected to this instance", registers: [registry] }),
    chainConservationMismatches: new Gauge({
      name: "stun_chain_conservation_mismatches",
      help: "Terms on which the ledger and the chain disagreed at the last conservation check (0: they agree; a moment's disagreement can be a change in flight)",
      registers: [registry],
    }),
    chainConservationCheckedAt: new Gauge({ name: "stun_chain_conservation_checked_timestamp_seconds", help: "When the last conservation check ran (unix seconds)", registers: [registry] }),
    taskLatency: new Histogram({
      name: "stun_task_latency_seconds",
      help: "Submit to completion",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    matchDuration: new Histogram({
      name: "stun_match_duration_seconds",
      help: "Time to pick providers for one task",
      buckets: [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005],
      registers: [registry],
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
