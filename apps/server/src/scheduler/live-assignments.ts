/** Assignment statuses in which a provider still holds the work. */
export const LIVE_STATUSES = ["assigned", "running"] as const;
/** Task statuses from which the task can still move. */
export const OPEN_TASK_STATUSES = ["queued", "assigned", "running", "verifying"] as const;
