import type { ServerResponse } from "node:http";

/**
 * Aborted when the client goes before its answer is written (the response closes unfinished): a
 * long-poll stops waiting for an answer nobody would read (services/tasks.ts getTask).
 */
export function hangUpSignal(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller.signal;
}
