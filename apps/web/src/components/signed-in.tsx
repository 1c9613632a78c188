"use client";
import { usePathname } from "next/navigation";
import type { ReactNode } from "react";
import { useApiKey } from "@/lib/api-key";
import { ButtonLink, Card, Skeleton } from "./ui";

/** Renders its children only with an API key; otherwise asks to sign in (and comes back here). */
export function SignedIn({ children, what = "this page" }: { children: (key: string) => ReactNode; what?: string }) {
  const key = useApiKey();
  const path = usePathname() ?? "/";
  if (key === undefined) {
    return (
      <div className="space-y-3" aria-busy="true">
        <Skeleton className="h-6 w-48" />
        <Skeleton className="h-32 w-full" />
      </div>
    );
  }
  if (!key) {
    const next = typeof window !== "undefined" ? window.location.pathname + window.location.search : path;
    return (
      <Card>
        <div className="flex flex-wrap items-center justify-between gap-4">
          <div>
            <p className="font-medium text-slate-900">Sign in to see {what}</p>
            <p className="mt-1 text-sm text-slate-600">Stun identifies requesters by API key. Paste yours, or create a local account.</p>
          </div>
          <ButtonLink href={`/signin?next=${encodeURIComponent(next)}`}>Sign in</ButtonLink>
        </div>
      </Card>
    );
  }
  return <>{children(key)}</>;
}
