"use client";
import { createTRPCClient, httpBatchLink, httpLink, httpSubscriptionLink, splitLink } from "@trpc/client";
import type { AppRouter } from "@stun/server";
import { getApiKey } from "./api-key";

const headers = (): Record<string, string> => {
  const key = getApiKey();
  return key ? { authorization: `Bearer ${key}` } : {};
};

/** A long-poll (`wait` > 0) must not hold up the other queries of its batch: it goes alone. */
const isLongPoll = (input: unknown): boolean => typeof input === "object" && input !== null && typeof (input as { wait?: unknown }).wait === "number" && (input as { wait: number }).wait > 0;

/**
 * The typed tRPC client of the Stun server on this origin (`/trpc`), with the signed-in key.
 * Pages wrap its calls in react-query's useQuery/useMutation.
 */
export const trpc = createTRPCClient<AppRouter>({
  links: [
    splitLink({
      // Subscriptions (tasks.watch) over SSE: EventSource sends no headers, so the key goes as connectionParams.
      condition: (op) => op.type === "subscription",
      true: httpSubscriptionLink({ url: "/trpc", connectionParams: () => ({ apiKey: getApiKey() ?? "" }) }),
      false: splitLink({
        condition: (op) => isLongPoll(op.input),
        true: httpLink({ url: "/trpc", headers }),
        false: httpBatchLink({ url: "/trpc", headers, maxURLLength: 4000 }),
      }),
    }),
  ],
});
