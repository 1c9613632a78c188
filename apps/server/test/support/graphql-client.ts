import { createClient } from "graphql-sse";
import type { TaskUpdateMessage } from "@stun/shared";

export interface GraphqlResponse {
  status: number;
  /** `{data?, errors?: [{message, extensions: {code, status}}]}` */
  body: any;
}

/** One GraphQL request over fetch, as a client that speaks GraphQL-over-HTTP would send it (`rawBody`: send these bytes instead). */
export async function graphqlRequest(url: string, query: string, opts: { variables?: Record<string, unknown>; key?: string; rawBody?: string } = {}): Promise<GraphqlResponse> {
  const res = await fetch(`${url}/api/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/graphql-response+json", ...(opts.key ? { authorization: `Bearer ${opts.key}` } : {}) },
    body: opts.rawBody ?? JSON.stringify({ query, variables: opts.variables ?? {} }),
  });
  return { status: res.status, body: await res.json() };
}

/** A `taskUpdates` subscription over server-sent events (graphql-sse): what it heard, its errors, and when it ended. */
export function subscribeTaskUpdates(url: string, key: string, taskId?: string) {
  const client = createClient({ url: `${url}/api/graphql`, headers: { authorization: `Bearer ${key}` }, retryAttempts: 0 });
  const heard: TaskUpdateMessage[] = [];
  const errors: unknown[] = [];
  const waiters: Array<() => void> = [];
  let ended = false;
  const wake = () => {
    for (const w of waiters.splice(0)) w();
  };
  const done = new Promise<void>((resolve) => {
    client.subscribe<{ taskUpdates: TaskUpdateMessage }>(
      { query: "subscription ($taskId: ID) { taskUpdates(taskId: $taskId) { taskId status } }", variables: taskId ? { taskId } : {} },
      {
        next: (r) => {
          if (r.errors) errors.push(...r.errors);
          if (r.data) heard.push(r.data.taskUpdates);
          wake();
        },
        error: (e) => {
          errors.push(e);
          ended = true;
          wake();
          resolve();
        },
        complete: () => {
          ended = true;
          wake();
          resolve();
        },
      },
    );
  });
  /** Resolves once an update satisfies `test`; rejects on a subscription error. */
  const until = async (test: (u: TaskUpdateMessage) => boolean): Promise<TaskUpdateMessage> => {
    for (;;) {
      const found = heard.find(test);
      if (found) return found;
      if (errors.length) throw new Error(`subscription failed: ${JSON.stringify(errors)}`);
      if (ended) throw new Error("the subscription ended before the update came");
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  return { heard, errors, done, until, close: () => client.dispose() };
}
