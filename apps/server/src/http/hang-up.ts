import type { ServerResponse } from "node:http";

/**
 * Aborted when the client goes before its answer is written (the response closes unfinished): a
 * long-poll stops waiting for an answer nobody would read (services/tasks.ts getTask). Already
 * aborted when it went while the request was still being authenticated or parsed.
 */
export function hangUpSignal(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  const closed = () => {
    if (!res.writableFinished) controller.abort();
  };
  if (res.closed) closed();
  else res.once("close", closed);
  return controller.signal;
}
