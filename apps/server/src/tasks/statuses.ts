/** Assignment statuses in which a provider still holds the work. */
export const LIVE_STATUSES = ["assigned", "running"] as const;
/** Task statuses from which the task can still move. */
export const OPEN_TASK_STATUSES = ["queued", "assigned", "running", "verifying"] as const;

export const isLive = (status: string): boolean => (LIVE_STATUSES as readonly string[]).includes(status);
export const isOpen = (status: string): boolean => (OPEN_TASK_STATUSES as readonly string[]).includes(status);
