"use client";
import Link from "next/link";
import type { ModelView } from "@stun/shared";
import { formatAgo, formatBytes } from "@/lib/format";
import { SignatureChips } from "./signature";
import { Badge, ButtonLink } from "./ui";

/** Models with their signatures and a Run link each. */
export function ModelList({ models, accountId, compact }: { models: ModelView[]; accountId?: string; compact?: boolean }) {
  return (
    <ul className="divide-y divide-slate-100" aria-label="Models">
      {models.map((m) => (
        <li key={m.id} className="flex flex-wrap items-center justify-between gap-3 py-3">
          <div className="min-w-0 flex-1">
            <div className="flex flex-wrap items-center gap-2">
              <Link href={`/model?id=${m.id}`} className="rounded font-medium text-slate-900 hover:text-brand-700">
                {m.name}
              </Link>
              {accountId && m.ownerId === accountId ? <Badge tone="indigo">yours</Badge> : null}
              <span className="font-mono text-xs text-slate-400">{m.id}</span>
            </div>
            <div className="mt-1.5 flex flex-wrap items-center gap-x-3 gap-y-1 text-xs text-slate-500">
              <span className="text-slate-500">in</span>
              <SignatureChips tensors={m.inputs} />
              <span aria-hidden>→</span>
              <span className="text-slate-500">out</span>
              <SignatureChips tensors={m.outputs} />
            </div>
            {compact ? null : (
              <p className="mt-1 text-xs text-slate-500">
                {formatBytes(m.sizeBytes)} · uploaded {formatAgo(m.createdAt)}
              </p>
            )}
          </div>
          <ButtonLink href={`/model?id=${m.id}`} variant="secondary" size="sm">
            Run <span className="sr-only">{m.name}</span>
          </ButtonLink>
        </li>
      ))}
    </ul>
  );
}
