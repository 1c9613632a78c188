"use client";
import Link from "next/link";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { SignedIn } from "@/components/signed-in";
import { Badge, Button, Card, CopyButton, EmptyState, ErrorNotice, LoadingCard, Mono, PageHeader, Stat, Table, cx, td } from "@/components/ui";
import { maskKey, setApiKey } from "@/lib/api-key";
import { toUiError } from "@/lib/errors";
import { formatAgo, formatAmount } from "@/lib/format";
import { faucet, fetchWebConfig } from "@/lib/rest";
import { trpc } from "@/lib/trpc";
import { KeysCard } from "./keys-card";

const FAUCET_AMOUNT = "1000000";

/** "acct:acc_x:escrow" → "escrow"; system accounts as they are. */
const pocket = (ledgerAccount: string): string => ledgerAccount.split(":").at(-1) ?? ledgerAccount;

function Account({ apiKey }: { apiKey: string }) {
  const router = useRouter();
  const queryClient = useQueryClient();
  const me = useQuery({ queryKey: ["accounts.me", apiKey], queryFn: () => trpc.accounts.me.query(), refetchInterval: 5_000 });
  const ledger = useQuery({ queryKey: ["accounts.ledger"], queryFn: () => trpc.accounts.ledger.query({ limit: 100 }), refetchInterval: 5_000 });
  const config = useQuery({ queryKey: ["web-config"], queryFn: fetchWebConfig, staleTime: Infinity, retry: false });
  const wallet = useQuery({ queryKey: ["auth.wallet", apiKey], queryFn: () => trpc.auth.wallet.query() });
  const topUp = useMutation({
    mutationFn: () => faucet(apiKey, FAUCET_AMOUNT),
    onSuccess: () => queryClient.invalidateQueries(),
  });

  if (me.isPending) return <LoadingCard label="Loading your account" />;
  if (me.isError) return <ErrorNotice error={toUiError(me.error)} title="Could not load your account" onRetry={() => void me.refetch()} />;
  const a = me.data;
  return (
    <div className="space-y-6">
      <dl className="grid gap-4 sm:grid-cols-3">
        <Stat label="Balance" value={<span data-testid="balance">{formatAmount(a.balance)}</span>} hint="spendable, base units" />
        <Stat label="Escrow" value={formatAmount(a.escrow)} hint="held for tasks in flight" />
        <Stat label="Stake" value={formatAmount(a.stake)} hint="backs your providers' paid work" />
      </dl>

      <Card title="Identity">
        <div className="flex flex-wrap items-center justify-between gap-4 text-sm">
          <div className="space-y-1">
            <p>
              Account <Mono>{a.accountId}</Mono> <CopyButton text={a.accountId} />
            </p>
            <p className="text-slate-600">
              API key <Mono>{maskKey(apiKey)}</Mono> <CopyButton text={apiKey} label="Copy key" />
            </p>
            <p className="text-slate-600">
              Wallet{" "}
              {wallet.data?.walletAddress ? (
                <Mono>
                  <span data-testid="account-wallet">{wallet.data.walletAddress}</span>
                </Mono>
              ) : (
                <span className="text-slate-500">none linked</span>
              )}{" "}
              <Link href="/wallet" className="text-xs font-medium text-brand-700 hover:underline">
                {wallet.data?.walletAddress ? "Wallet page" : "Link a wallet"}
              </Link>
            </p>
          </div>
          <div className="flex flex-wrap gap-2">
            {config.data?.faucet ? (
              <Button variant="secondary" onClick={() => topUp.mutate()} disabled={topUp.isPending}>
                {topUp.isPending ? "Adding…" : `Add ${formatAmount(FAUCET_AMOUNT)} test units`}
              </Button>
            ) : null}
            <Button
              variant="danger"
              onClick={() => {
                setApiKey(null);
                queryClient.clear();
                router.push("/signin");
              }}
            >
              Sign out
            </Button>
          </div>
        </div>
        {topUp.error ? (
          <div className="mt-3">
            <ErrorNotice error={toUiError(topUp.error)} title="Faucet refused" />
          </div>
        ) : null}
      </Card>

      <KeysCard />

      <Card title="Ledger" id="ledger">
        {ledger.isPending ? (
          <LoadingCard label="Loading ledger entries" />
        ) : ledger.isError ? (
          <ErrorNotice error={toUiError(ledger.error)} title="Could not load the ledger" />
        ) : ledger.data.entries.length === 0 ? (
          <EmptyState title="No ledger entries yet">Faucet credits, escrow holds, payments and refunds appear here.</EmptyState>
        ) : (
          <Table head={["Kind", "Pocket", "Amount", "Task", "Transaction", "When"]} caption="Ledger entries, newest first" right={[2]}>
            {ledger.data.entries.map((e) => {
              const negative = e.amount.startsWith("-");
              return (
                <tr key={e.id}>
                  <td className={td}>
                    <Badge>{e.kind}</Badge>
                  </td>
                  <td className={cx(td, "text-slate-600")}>{pocket(e.account)}</td>
                  <td className={cx(td, "text-right font-mono tabular-nums", negative ? "text-red-700" : "text-emerald-700")}>
                    {negative ? "" : "+"}
                    {formatAmount(e.amount)}
                  </td>
                  <td className={td}>
                    {e.taskId ? (
                      <Link href={`/task?id=${e.taskId}`} className="font-mono text-[0.8125rem] text-brand-700 hover:underline">
                        {e.taskId}
                      </Link>
                    ) : (
                      <span className="text-slate-400">–</span>
                    )}
                  </td>
                  <td className={cx(td, "font-mono text-xs text-slate-500")}>{e.txId.slice(0, 12)}</td>
                  <td className={cx(td, "text-slate-600")}>{formatAgo(e.createdAt)}</td>
                </tr>
              );
            })}
          </Table>
        )}
      </Card>
    </div>
  );
}

export default function AccountPage() {
  return (
    <>
      <PageHeader title="Account" subtitle="Balances in integer base units; every movement is a double-entry ledger transaction." />
      <SignedIn what="your account">{(key) => <Account apiKey={key} />}</SignedIn>
    </>
  );
}
