"use client";
import { useWallet } from "@solana/wallet-adapter-react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent, type ReactNode } from "react";
import {
  PositiveBaseUnitsSchema,
  type DepositInfoResponse,
  type ExternalDepositsResponse,
  type ExternalPayoutView,
  type LinkedWalletsResponse,
  type SolanaDepositInfo,
  type TonBalance,
  type TonDepositInfo,
} from "@stun/shared";
import { AmountField, Badge, Button, Card, CopyButton, ErrorNotice, KeyValues, Mono, STATUS_TONE, Table, cx, td } from "@/components/ui";
import { useApiKey } from "@/lib/api-key";
import { toUiError, type UiError } from "@/lib/errors";
import { formatAgo, formatAmount } from "@/lib/format";
import { rest } from "@/lib/rest";
import { PublicKey } from "@solana/web3.js";
import { depositFromSolanaWallet, solanaTokenBalance } from "./solana";
import { connectedTonWallet, depositFromTonWallet } from "./ton";

type RailFamily = "solana" | "ton";
const RAIL_NAME: Record<RailFamily, string> = { solana: "Solana", ton: "TON" };

/** The amount field's check: a positive whole number of base units (the server checks the same schema). */
function amountProblem(text: string): string | null {
  return PositiveBaseUnitsSchema.safeParse(text.trim()).success ? null : "A positive whole number of base units (e.g. 1500000 for 1.5 of a 6-decimal token), at most 19 digits.";
}

/** A value with its copy button. */
function Copyable({ value, testId }: { value: string; testId: string }) {
  return (
    <span className="flex flex-wrap items-center gap-2">
      <Mono className="break-all text-slate-900">
        <span data-testid={testId}>{value}</span>
      </Mono>
      <CopyButton text={value} />
    </span>
  );
}

function solanaRows(info: SolanaDepositInfo): Array<[ReactNode, ReactNode]> {
  return [
    ["Network", <span key="n">{info.network}</span>],
    ["Token (mint)", <Copyable key="m" value={info.mint} testId="solana-mint" />],
    ["Send to (token account)", <Copyable key="d" value={info.depositAccount} testId="solana-deposit-account" />],
    ["Token account owner", <Copyable key="o" value={info.depositOwner} testId="solana-deposit-owner" />],
    ["Memo (required)", <Copyable key="memo" value={info.memo} testId="solana-memo" />],
    ["Credited", <span key="c">once the transaction is {info.confirmation}</span>],
  ];
}

function tonRows(info: TonDepositInfo): Array<[ReactNode, ReactNode]> {
  return [
    ["Network", <span key="n">{info.network}</span>],
    ["Jetton (master)", <Copyable key="j" value={info.jettonMaster} testId="ton-jetton-master" />],
    ["Send to (marketplace)", <Copyable key="m" value={info.marketplace} testId="ton-marketplace" />],
    ["Forward payload (BOC, required)", <Copyable key="p" value={info.forwardPayload} testId="ton-forward-payload" />],
    ["Payload cell bits (hex)", <Copyable key="t" value={info.tagHex} testId="ton-tag-hex" />],
    ["forward_ton_amount", <span key="f">{formatAmount(info.forwardTonAmount)} nanotons</span>],
    ["Credited", <span key="c">once the transaction is in a {info.confirmation} block (seconds)</span>],
  ];
}

/** An amount field and a submit button; `run` gets the checked amount and says what happened. */
function AmountForm({ label, button, busyLabel, run, testId }: { label: string; button: ReactNode; busyLabel: string; run: (amount: bigint) => Promise<ReactNode>; testId: string }) {
  const [amount, setAmount] = useState("");
  const [fieldError, setFieldError] = useState<string | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const [done, setDone] = useState<ReactNode>(null);
  const [busy, setBusy] = useState(false);
  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setDone(null);
    const problem = amountProblem(amount);
    setFieldError(problem);
    if (problem) return;
    setBusy(true);
    try {
      setDone(await run(BigInt(amount.trim())));
      setAmount("");
    } catch (err) {
      setError(toUiError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={onSubmit} noValidate className="space-y-2" data-testid={testId}>
      <div className="flex flex-wrap items-start gap-3">
        <AmountField label={label} value={amount} onChange={setAmount} error={fieldError} placeholder="1000000" />
        <div className="mt-7 flex flex-wrap gap-2">{busy ? <Button disabled>{busyLabel}</Button> : button}</div>
      </div>
      {error ? <ErrorNotice error={error} title="That did not go through" /> : null}
      {done ? (
        <p role="status" className="text-sm text-emerald-700">
          {done}
        </p>
      ) : null}
    </form>
  );
}

function SolanaDepositForm({ info }: { info: SolanaDepositInfo }) {
  const { wallets } = useWallet();
  const queryClient = useQueryClient();
  const usable = wallets.filter((w) => w.readyState === "Installed" || w.readyState === "Loadable");
  const adapter = usable[0]?.adapter;
  // The wallet's account once it shared it (a deposit, or "Show balance"): its token balance is read then.
  const [owner, setOwner] = useState<string | null>(adapter?.publicKey?.toBase58() ?? null);
  const [connectError, setConnectError] = useState<UiError | null>(null);
  const balance = useQuery({
    queryKey: ["solana.balance", info.rpcUrl, info.mint, owner],
    queryFn: () => solanaTokenBalance(info, new PublicKey(owner!)),
    enabled: !!owner,
    refetchInterval: 15_000,
  });
  if (!adapter) return <p className="text-sm text-slate-500">No Solana wallet in this browser: send the transfer and memo above from any wallet.</p>;
  const showBalance = async () => {
    setConnectError(null);
    try {
      if (!adapter.connected) await adapter.connect();
      setOwner(adapter.publicKey?.toBase58() ?? null);
    } catch (e) {
      setConnectError(toUiError(e));
    }
  };
  return (
    <div className="space-y-3">
      <p className="text-sm text-slate-600">
        {owner ? (
          <>
            {adapter.name} <Mono>{owner}</Mono> holds{" "}
            <span className="font-mono text-slate-900" data-testid="solana-wallet-balance">
              {balance.data === undefined ? "…" : formatAmount(balance.data)}
            </span>{" "}
            base units of the token.
          </>
        ) : (
          <Button size="sm" variant="secondary" onClick={() => void showBalance()}>
            Show {adapter.name}&apos;s balance
          </Button>
        )}
      </p>
      {balance.error ? <ErrorNotice error={toUiError(balance.error)} title="Could not read the wallet's token balance" /> : null}
      {connectError ? <ErrorNotice error={connectError} title="The wallet did not connect" /> : null}
      <AmountForm
        testId="solana-deposit-form"
        label="Deposit amount (base units)"
        busyLabel="Waiting for the wallet…"
        button={<Button type="submit">Deposit with {adapter.name}</Button>}
        run={async (amount) => {
          // One wallet per browser is the common case; with several, the first installed one sends.
          const signature = await depositFromSolanaWallet(adapter, info, amount);
          setOwner(adapter.publicKey?.toBase58() ?? null);
          await queryClient.invalidateQueries({ queryKey: ["chain.deposits"] });
          await queryClient.invalidateQueries({ queryKey: ["solana.balance"] });
          return (
            <>
              Sent <Mono>{signature}</Mono>; credited once finalized.
            </>
          );
        }}
      />
    </div>
  );
}

function TonDepositForm() {
  const queryClient = useQueryClient();
  // The wallet's address once it connected (a deposit, or "Show balance"): its jetton balance is read then.
  const [owner, setOwner] = useState<string | null>(null);
  const [connectError, setConnectError] = useState<UiError | null>(null);
  const balance = useQuery({
    queryKey: ["ton.balance", owner],
    queryFn: () => rest<TonBalance>("GET", `/chain/ton-balance?owner=${encodeURIComponent(owner!)}`),
    enabled: !!owner,
    refetchInterval: 15_000,
  });
  const showBalance = async () => {
    setConnectError(null);
    try {
      setOwner((await connectedTonWallet()).account.address);
    } catch (e) {
      setConnectError(toUiError(e));
    }
  };
  return (
    <div className="space-y-3">
      <p className="text-sm text-slate-600">
        {owner ? (
          <>
            <Mono>{owner}</Mono> holds{" "}
            <span className="font-mono text-slate-900" data-testid="ton-wallet-balance">
              {balance.data ? formatAmount(balance.data.balance) : "…"}
            </span>{" "}
            base units of the jetton.
          </>
        ) : (
          <Button size="sm" variant="secondary" onClick={() => void showBalance()}>
            Show the TON wallet&apos;s balance
          </Button>
        )}
      </p>
      {balance.error ? <ErrorNotice error={toUiError(balance.error)} title="Could not read the wallet's jetton balance" /> : null}
      {connectError ? <ErrorNotice error={connectError} title="The TON wallet did not connect" /> : null}
      <AmountForm
        testId="ton-deposit-form"
        label="Deposit amount (jetton base units)"
        busyLabel="Waiting for the wallet…"
        button={<Button type="submit">Deposit with a TON wallet</Button>}
        run={async (amount) => {
          const { from } = await depositFromTonWallet(amount);
          setOwner(from);
          await queryClient.invalidateQueries({ queryKey: ["chain.deposits"] });
          await queryClient.invalidateQueries({ queryKey: ["ton.balance"] });
          return (
            <>
              Your wallet <Mono>{from}</Mono> sent the transfer; credited once the marketplace logs it.
            </>
          );
        }}
      />
    </div>
  );
}

function PayoutForm({ family, linked }: { family: RailFamily; linked: { address: string; network: string } | undefined }) {
  const queryClient = useQueryClient();
  return (
    <div className="space-y-2">
      <p className="text-sm text-slate-600" data-testid={`payout-target-${family}`}>
        {linked ? (
          <>
            Pays from your Stun balance to your linked {RAIL_NAME[family]} wallet <Mono>{linked.address}</Mono> ({linked.network}).
          </>
        ) : (
          `No ${RAIL_NAME[family]} wallet is linked to this account: link one above to be paid on ${RAIL_NAME[family]}.`
        )}
      </p>
      <AmountForm
        testId={`payout-form-${family}`}
        label="Payout amount (base units)"
        busyLabel="Requesting…"
        button={<Button type="submit">Request payout</Button>}
        run={async (amount) => {
          const view = await rest<ExternalPayoutView>("POST", "/chain/payouts", { body: JSON.stringify({ family, amount: amount.toString() }), contentType: "application/json" });
          await queryClient.invalidateQueries({ queryKey: ["chain.payouts"] });
          await queryClient.invalidateQueries({ queryKey: ["accounts.me"] });
          return `Payout of ${formatAmount(view.amount)} queued (${view.status}).`;
        }}
      />
    </div>
  );
}

const short = (s: string) => (s.length > 20 ? `${s.slice(0, 8)}…${s.slice(-6)}` : s);

function RailActivity({ family, deposits, payouts }: { family: RailFamily; deposits: ExternalDepositsResponse["deposits"]; payouts: ExternalPayoutView[] }) {
  return (
    <div className="space-y-4">
      <div>
        <h3 className="text-sm font-medium text-slate-800">Deposits</h3>
        {deposits.length ? (
          <Table head={["Transaction", "Amount", "From", "Status", "When"]} caption={`${RAIL_NAME[family]} deposits to your account, newest first`} right={[1]}>
            {deposits.map((d) => (
              <tr key={d.id} data-testid={`deposit-row-${family}`}>
                <td className={cx(td, "font-mono text-xs")} title={d.txId}>
                  {short(d.txId)}
                </td>
                <td className={cx(td, "text-right font-mono tabular-nums")}>{formatAmount(d.amount)}</td>
                <td className={cx(td, "font-mono text-xs text-slate-500")} title={d.from}>
                  {short(d.from)}
                </td>
                <td className={td} title={d.reason ?? undefined}>
                  <Badge tone={d.status === "credited" ? "green" : "red"}>{d.status}</Badge>
                  {d.reason ? <span className="ml-2 text-xs text-slate-500">{d.reason}</span> : null}
                </td>
                <td className={cx(td, "text-slate-600")}>{formatAgo(d.createdAt)}</td>
              </tr>
            ))}
          </Table>
        ) : (
          <p className="text-sm text-slate-500">No deposits recorded yet.</p>
        )}
      </div>
      <div>
        <h3 className="text-sm font-medium text-slate-800">Payouts</h3>
        {payouts.length ? (
          <Table head={["To", "Amount", "Status", "Transaction", "When"]} caption={`${RAIL_NAME[family]} payouts, newest first`} right={[1]}>
            {payouts.map((p) => (
              <tr key={p.id} data-testid={`payout-row-${family}`}>
                <td className={cx(td, "font-mono text-xs")} title={p.to}>
                  {short(p.to)}
                </td>
                <td className={cx(td, "text-right font-mono tabular-nums")} data-testid="payout-amount">
                  {formatAmount(p.amount)}
                </td>
                <td className={td} title={p.lastError ?? undefined} data-testid="payout-status">
                  <Badge tone={STATUS_TONE[p.status] ?? "slate"}>{p.status}</Badge>
                </td>
                <td className={cx(td, "font-mono text-xs")} title={p.txId ?? undefined}>
                  {p.txId ? short(p.txId) : <span className="text-slate-400">not sent yet</span>}
                </td>
                <td className={cx(td, "text-slate-600")}>{formatAgo(p.createdAt)}</td>
              </tr>
            ))}
          </Table>
        ) : (
          <p className="text-sm text-slate-500">No payouts yet.</p>
        )}
      </div>
    </div>
  );
}

function RailCard({
  family,
  info,
  payoutsOffered,
  deposits,
  payouts,
  linked,
}: {
  family: RailFamily;
  info: SolanaDepositInfo | TonDepositInfo | null;
  payoutsOffered: boolean;
  deposits: ExternalDepositsResponse["deposits"];
  payouts: ExternalPayoutView[];
  linked: { address: string; network: string } | undefined;
}) {
  const name = RAIL_NAME[family];
  return (
    <Card title={`${name}: deposits and payouts`} id={`rail-${family}`}>
      <section className="space-y-5" aria-label={`${name} deposits and payouts`}>
        {info ? (
          <>
            <p className="text-sm text-slate-600">
              {family === "solana"
                ? "Send the token with an SPL transfer to the token account below, with a Memo instruction in the same transaction whose text is your account id. Without the memo the deposit cannot be credited."
                : 'Send the jetton to the marketplace with a TEP-74 transfer whose forward payload is the cell below ("STUN" and your account id). Without it the deposit cannot be credited.'}
            </p>
            <KeyValues rows={family === "solana" ? solanaRows(info as SolanaDepositInfo) : tonRows(info as TonDepositInfo)} />
            {family === "solana" ? <SolanaDepositForm info={info as SolanaDepositInfo} /> : <TonDepositForm />}
          </>
        ) : (
          <p className="text-sm text-slate-600" data-testid={`rail-off-${family}`}>
            {name} deposits are not configured on this server.
          </p>
        )}
        {payoutsOffered ? <PayoutForm family={family} linked={linked} /> : info ? <p className="text-sm text-slate-500">This server does not pay out on {name}.</p> : null}
        {/* A rail that is off and never was used here: the one line above says it all. */}
        {info || payoutsOffered || deposits.length || payouts.length ? <RailActivity family={family} deposits={deposits} payouts={payouts} /> : null}
      </section>
    </Card>
  );
}

/** Per family (Solana, TON), inside WalletFamiliesScope: how to deposit to the signed-in account, a deposit from a connected wallet, payouts to the linked wallet, and the account's deposits and payouts. */
export function ChainRailsSection() {
  const apiKey = useApiKey();
  const info = useQuery({ queryKey: ["chain.depositInfo", apiKey], queryFn: () => rest<DepositInfoResponse>("GET", "/chain/deposit-info"), enabled: !!apiKey });
  const deposits = useQuery({ queryKey: ["chain.deposits", apiKey], queryFn: () => rest<ExternalDepositsResponse>("GET", "/chain/deposits"), enabled: !!apiKey, refetchInterval: 5_000 });
  const payouts = useQuery({ queryKey: ["chain.payouts", apiKey], queryFn: () => rest<{ payouts: ExternalPayoutView[] }>("GET", "/chain/payouts"), enabled: !!apiKey, refetchInterval: 5_000 });
  const linked = useQuery({ queryKey: ["accounts.me.wallets", apiKey], queryFn: () => rest<LinkedWalletsResponse>("GET", "/accounts/me/wallets"), enabled: !!apiKey });
  if (!apiKey) return null;
  const error = info.error ?? deposits.error ?? payouts.error;
  if (error) return <ErrorNotice error={toUiError(error)} title="Could not load your Solana and TON deposits" />;
  if (!info.data) return null;
  return (
    <div className="space-y-6">
      {(["solana", "ton"] as const).map((family) => (
        <RailCard
          key={family}
          family={family}
          info={info.data[family]}
          payoutsOffered={info.data.payoutFamilies.includes(family)}
          deposits={deposits.data?.deposits.filter((d) => d.family === family) ?? []}
          payouts={payouts.data?.payouts.filter((p) => p.family === family) ?? []}
          linked={linked.data?.wallets.find((w) => w.family === family)}
        />
      ))}
    </div>
  );
}
