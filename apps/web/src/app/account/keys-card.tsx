"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { ApiKeyView } from "@stun/shared";
import { Badge, Button, Card, EmptyState, ErrorNotice, LoadingCard, Mono, Table, cx, td, type Tone } from "@/components/ui";
import { toUiError } from "@/lib/errors";
import { formatAgo } from "@/lib/format";
import { trpc } from "@/lib/trpc";

const STATUS: Record<ApiKeyView["status"], Tone> = { active: "green", revoked: "red", expired: "amber" };

/** The account's API keys (docs/CONCEPTS.md "API keys: scopes, expiry, revocation"): name, prefix, scopes, status, dates; revoke. */
export function KeysCard() {
  const queryClient = useQueryClient();
  const keys = useQuery({ queryKey: ["keys.list"], queryFn: () => trpc.keys.list.query({ limit: 100 }) });
  const revoke = useMutation({
    mutationFn: (id: string) => trpc.keys.revoke.mutate({ id }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["keys.list"] }),
  });
  return (
    <Card title="API keys" id="keys">
      {revoke.isError ? <ErrorNotice error={toUiError(revoke.error)} title="Could not revoke the key" /> : null}
      {keys.isPending ? (
        <LoadingCard label="Loading API keys" />
      ) : keys.isError ? (
        <ErrorNotice error={toUiError(keys.error)} title="Could not load API keys" onRetry={() => void keys.refetch()} />
      ) : keys.data.keys.length === 0 ? (
        <EmptyState title="No API keys">Create one with `stun keys create NAME --scope requester`.</EmptyState>
      ) : (
        <Table head={["Name", "Key", "Scopes", "Status", "Created", "Expires", "Last used", ""]} caption="API keys, newest first">
          {keys.data.keys.map((k) => (
            <tr key={k.id} data-testid={`key-${k.id}`}>
              <td className={td}>
                {k.name} {k.kind === "siwe" ? <Badge tone="violet">wallet session</Badge> : null}
              </td>
              <td className={td}>
                <Mono>{k.prefix}…</Mono>
              </td>
              <td className={cx(td, "text-slate-600")}>{k.scopes.join(", ")}</td>
              <td className={td}>
                <Badge tone={STATUS[k.status]}>{k.status}</Badge>
              </td>
              <td className={cx(td, "text-slate-600")}>{formatAgo(k.createdAt)}</td>
              <td className={cx(td, "text-slate-600")}>{k.expiresAt ? new Date(k.expiresAt).toLocaleString() : "never"}</td>
              <td className={cx(td, "text-slate-600")}>{k.lastUsedAt ? formatAgo(k.lastUsedAt) : "–"}</td>
              <td className={td}>
                {k.status === "active" ? (
                  <Button variant="secondary" size="sm" disabled={revoke.isPending} onClick={() => revoke.mutate(k.id)} aria-label={`Revoke ${k.name} (${k.prefix})`}>
                    Revoke
                  </Button>
                ) : null}
              </td>
            </tr>
          ))}
        </Table>
      )}
    </Card>
  );
}
