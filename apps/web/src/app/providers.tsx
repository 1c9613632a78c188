"use client";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { useState, type ReactNode } from "react";
import { toUiError } from "@/lib/errors";

/** Client-side context for every page: one react-query cache. */
export function Providers({ children }: { children: ReactNode }) {
  const [client] = useState(
    () =>
      new QueryClient({
        defaultOptions: {
          queries: {
            staleTime: 2_000,
            // The caller's mistakes (4xx) do not get better by asking again.
            retry: (failures, e) => failures < 2 && !(toUiError(e).status && toUiError(e).status! < 500),
          },
        },
      }),
  );
  return <QueryClientProvider client={client}>{children}</QueryClientProvider>;
}
