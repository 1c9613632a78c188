"use client";
import Link from "next/link";
import { useState, type FormEvent } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { type Address, type Hash, formatUnits, parseUnits } from "viem";
import { useBalance, useConfig, useConnection, useDisconnect, useReadContracts, useSwitchChain } from "wagmi";
import { readContract, waitForTransactionReceipt, writeContract } from "wagmi/actions";
import { AmountField, Badge, Button, Card, ErrorNotice, KeyValues, LoadingCard, Mono, Stat, Table, cx, td } from "@/components/ui";
import { setApiKey, useApiKey } from "@/lib/api-key";
import { toUiError, type UiError } from "@/lib/errors";
import { formatAgo, formatAmount } from "@/lib/format";
import { rest } from "@/lib/rest";
import { trpc } from "@/lib/trpc";
import { type ChainAccountView, type WebChainConfig, type WebToken, accountToBytes32, erc20Abi, isEth, marketplaceAbi, txUrl } from "./chain";
import { shortAddress, useConnectWallet, useSignInWithEthereum } from "./hooks";
import { NoWalletNotice } from "./siwe-card";
import { WalletScope, useWalletScope } from "./scope";
import { LinkedWalletsCard, WalletFamiliesScope } from "./families/wallet-families";
import { ChainRailsSection } from "./families/chain-rails";

/** `1234.5` with thousands separators in the integer part. */
export function formatUnitsGrouped(value: bigint, decimals: number, maxFraction = 6): string {
  const [int, frac = ""] = formatUnits(value, decimals).split(".");
  const fraction = frac.slice(0, maxFraction).replace(/0+$/, "");
  return `${formatAmount(int)}${fraction ? `.${fraction}` : ""}`;
}

function TxLink({ chain, hash }: { chain: WebChainConfig; hash: string }) {
  const url = txUrl(chain, hash);
  const label = <Mono>{`${hash.slice(0, 10)}…${hash.slice(-6)}`}</Mono>;
  return url ? (
    <a href={url} target="_blank" rel="noreferrer" className="text-brand-700 hover:underline" title={hash}>
      {label}
    </a>
  ) : (
    <span title={hash} data-testid="tx-hash" data-hash={hash}>
      {label}
    </span>
  );
}

/** The connected wallet: address, chain (with a switch when it is not the server's), its link to the signed-in account. */
function WalletCard() {
  const { chain, injected } = useWalletScope();
  const { address, chainId, status } = useConnection();
  const wallet = useConnectWallet();
  const disconnect = useDisconnect();
  const switchChain = useSwitchChain();
  const apiKey = useApiKey();
  const queryClient = useQueryClient();
  const siwe = useSignInWithEthereum();
  const linked = useQuery({ queryKey: ["auth.wallet", apiKey], queryFn: () => trpc.auth.wallet.query(), enabled: !!apiKey });

  if (!injected) {
    return (
      <Card title="Wallet">
        <NoWalletNotice />
      </Card>
    );
  }
  if (status !== "connected" || !address) {
    return (
      <Card title="Wallet">
        <div className="space-y-3 text-sm text-slate-600">
          <p>Connect this browser&apos;s Ethereum wallet to see its balances{chain ? ", deposit to your Stun balance" : ""} and sign in with it.</p>
          {wallet.error ? <ErrorNotice error={wallet.error} title="The wallet did not connect" /> : null}
          <Button onClick={wallet.connect} disabled={wallet.pending || status === "reconnecting" || status === "connecting"}>
            {wallet.pending ? "Connecting…" : "Connect wallet"}
          </Button>
        </div>
      </Card>
    );
  }

  const wrongChain = !!chain && chainId !== chain.chainId;
  const linkedAddress = linked.data?.walletAddress ?? null;
  const isLinked = !!linkedAddress && linkedAddress === address.toLowerCase();
  const signInWith = async (key: string | null) => {
    const out = await siwe.run(key);
    if (!out) return;
    setApiKey(out.apiKey);
    await queryClient.resetQueries();
  };

  return (
    <Card
      title="Wallet"
      actions={
        <Button variant="ghost" size="sm" onClick={() => disconnect.mutate({})}>
          Disconnect
        </Button>
      }
    >
      <KeyValues
        rows={[
          [
            "Address",
            <Mono key="a" className="break-all">
              <span data-testid="wallet-address">{address}</span>
            </Mono>,
          ],
          [
            "Chain",
            <span key="c" className="flex flex-wrap items-center gap-2">
              <span data-testid="wallet-chain">{chain && !wrongChain ? `${chain.name} (${chainId})` : `chain ${chainId}`}</span>
              {wrongChain ? (
                <>
                  <Badge tone="amber">not {chain.name}</Badge>
                  <Button size="sm" variant="secondary" disabled={switchChain.isPending} onClick={() => switchChain.mutate({ chainId: chain.chainId })}>
                    Switch to {chain.name}
                  </Button>
                </>
              ) : null}
            </span>,
          ],
          [
            "Stun account",
            apiKey ? (
              linked.isPending ? (
                <span key="l" className="text-slate-500">
                  …
                </span>
              ) : isLinked ? (
                <span key="l" data-testid="wallet-linked">
                  <Badge tone="green">linked</Badge> to the account you are signed in to
                </span>
              ) : (
                <span key="l" className="flex flex-wrap items-center gap-2">
                  <span className="text-slate-600">{linkedAddress ? `Your account is linked to ${shortAddress(linkedAddress)}.` : "Not linked to your account."}</span>
                  <Button size="sm" variant="secondary" disabled={siwe.pending} onClick={() => void signInWith(apiKey)}>
                    {siwe.pending ? "Waiting for the signature…" : "Link this wallet"}
                  </Button>
                </span>
              )
            ) : (
              <span key="l" className="flex flex-wrap items-center gap-2">
                <span className="text-slate-600">Not signed in.</span>
                <Button size="sm" disabled={siwe.pending} onClick={() => void signInWith(null)}>
                  {siwe.pending ? "Waiting for the signature…" : "Sign in with Ethereum"}
                </Button>
              </span>
            ),
          ],
        ]}
      />
      {siwe.error ? (
        <div className="mt-3">
          <ErrorNotice error={siwe.error} title="Sign-in with Ethereum failed" />
        </div>
      ) : null}
      {switchChain.error ? (
        <div className="mt-3">
          <ErrorNotice error={toUiError(switchChain.error)} title="The wallet did not switch chains" />
        </div>
      ) : null}
    </Card>
  );
}

/** Unique tokens to show: ETH, STUN, then the allow-listed escrow tokens. */
function tokensOf(chain: WebChainConfig): WebToken[] {
  const all = [{ address: "0x0000000000000000000000000000000000000000" as Address, symbol: "ETH", decimals: 18 }, ...(chain.stunToken ? [chain.stunToken] : []), ...chain.tokens];
  const seen = new Set<string>();
  return all.filter((t) => {
    const k = t.address.toLowerCase();
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function BalancesCard({ chain, address }: { chain: WebChainConfig; address: Address }) {
  const tokens = tokensOf(chain);
  const erc20s = tokens.filter((t) => !isEth(t.address));
  const eth = useBalance({ address, chainId: chain.chainId, query: { refetchInterval: 3_000 } });
  const reads = useReadContracts({
    contracts: erc20s.map((t) => ({ address: t.address, abi: erc20Abi, functionName: "balanceOf" as const, args: [address] as const, chainId: chain.chainId })),
    query: { refetchInterval: 3_000 },
  });
  const balanceOf = (t: WebToken): bigint | undefined => {
    if (isEth(t.address)) return eth.data?.value;
    const r = reads.data?.[erc20s.indexOf(t)];
    return r?.status === "success" ? (r.result as bigint) : undefined;
  };
  const error = eth.error ?? reads.error;
  return (
    <Card title="On-chain balances" id="balances">
      {error ? <ErrorNotice error={toUiError(error)} title={`Could not read ${chain.name} at ${chain.rpcUrl}`} /> : null}
      <Table head={["Token", "Balance", "Contract"]} caption="Balances of the connected wallet" right={[1]}>
        {tokens.map((t) => {
          const b = balanceOf(t);
          return (
            <tr key={t.address}>
              <td className={td}>
                <span className="font-medium text-slate-900">{t.symbol}</span>
                {t.address.toLowerCase() === chain.ledgerToken.toLowerCase() ? (
                  <Badge tone="indigo" className="ml-2">
                    deposits credit your Stun balance
                  </Badge>
                ) : null}
              </td>
              <td className={cx(td, "text-right font-mono tabular-nums")} data-testid={`onchain-${t.symbol}`}>
                {b === undefined ? "…" : formatUnitsGrouped(b, t.decimals)}
              </td>
              <td className={cx(td, "font-mono text-xs text-slate-500")}>{isEth(t.address) ? "native" : t.address}</td>
            </tr>
          );
        })}
      </Table>
    </Card>
  );
}

type Step = "idle" | "approve" | "approving" | "deposit" | "confirming" | "done";
const STEP_LABEL: Record<Step, string> = {
  idle: "Deposit",
  approve: "Approve in your wallet…",
  approving: "Waiting for the approval…",
  deposit: "Confirm the deposit in your wallet…",
  confirming: "Waiting for the deposit…",
  done: "Deposit",
};

/** approve (ERC-20, when the allowance is short) + `deposit(token, amount, account)` from the browser. */
function DepositCard({ chain, address, accountId }: { chain: WebChainConfig; address: Address; accountId: string }) {
  const config = useConfig();
  const queryClient = useQueryClient();
  const tokens = tokensOf(chain).filter((t) => t.address.toLowerCase() === chain.ledgerToken.toLowerCase());
  const token = tokens[0];
  const [amount, setAmount] = useState("");
  const [step, setStep] = useState<Step>("idle");
  const [error, setError] = useState<UiError | null>(null);
  const [fieldError, setFieldError] = useState<string | null>(null);
  const [txs, setTxs] = useState<Array<{ hash: Hash; what: string; amount: string }>>([]);

  if (!token) return null;

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    let value: bigint;
    try {
      value = parseUnits(amount.trim(), token.decimals);
    } catch {
      setFieldError(`An amount of ${token.symbol}, e.g. 10 or 2.5 (at most ${token.decimals} decimals).`);
      return;
    }
    if (value <= 0n) {
      setFieldError("The amount must be more than zero.");
      return;
    }
    setFieldError(null);
    const chainId = chain.chainId;
    try {
      if (!isEth(token.address)) {
        const allowance = await readContract(config, { address: token.address, abi: erc20Abi, functionName: "allowance", args: [address, chain.marketplace], chainId });
        if (allowance < value) {
          setStep("approve");
          const approval = await writeContract(config, { address: token.address, abi: erc20Abi, functionName: "approve", args: [chain.marketplace, value], chainId, account: address });
          setTxs((t) => [{ hash: approval, what: `approve ${token.symbol}`, amount: amount.trim() }, ...t]);
          setStep("approving");
          const r = await waitForTransactionReceipt(config, { hash: approval, chainId });
          if (r.status !== "success") throw new Error(`the approval reverted (${approval})`);
        }
      }
      setStep("deposit");
      const hash = await writeContract(config, {
        address: chain.marketplace,
        abi: marketplaceAbi,
        functionName: "deposit",
        args: [token.address, value, accountToBytes32(accountId)],
        ...(isEth(token.address) ? { value } : {}),
        chainId,
        account: address,
      });
      setTxs((t) => [{ hash, what: "deposit", amount: amount.trim() }, ...t]);
      setStep("confirming");
      const receipt = await waitForTransactionReceipt(config, { hash, chainId });
      if (receipt.status !== "success") throw new Error(`the deposit reverted (${hash})`);
      setStep("done");
      setAmount("");
      await queryClient.invalidateQueries();
    } catch (err) {
      setStep("idle");
      setError(toUiError(err));
    }
  };

  const busy = step !== "idle" && step !== "done";
  return (
    <Card title={`Deposit ${token.symbol} to your Stun balance`} id="deposit">
      <form onSubmit={onSubmit} noValidate className="space-y-3">
        <p className="text-sm text-slate-600">
          Sends {token.symbol} from this wallet to the marketplace contract <Mono>{shortAddress(chain.marketplace)}</Mono> for your account <Mono>{accountId}</Mono>
          {isEth(token.address) ? "" : " (an approval first, when the contract's allowance is short)"}. The server credits your Stun balance, one base unit per base unit, once the deposit has{" "}
          {chain.confirmations ?? 1} confirmation{(chain.confirmations ?? 1) === 1 ? "" : "s"}; tasks you pay with it are then settled on chain.
        </p>
        <div className="flex flex-wrap items-start gap-3">
          <AmountField label={`Amount (${token.symbol})`} value={amount} onChange={setAmount} error={fieldError} placeholder="10" inputMode="decimal" />
          <Button type="submit" className="mt-7" disabled={busy}>
            {STEP_LABEL[step]}
          </Button>
        </div>
        {error ? <ErrorNotice error={error} title="The deposit did not go through" /> : null}
        {step === "done" ? (
          <p role="status" className="text-sm text-emerald-700">
            Deposit confirmed on chain. Your Stun balance below updates when the server credits it.
          </p>
        ) : null}
      </form>
      {txs.length ? (
        <div className="mt-4">
          <Table head={["Transaction", "What", "Amount"]} caption="Transactions sent from this page">
            {txs.map((t) => (
              <tr key={t.hash}>
                <td className={td}>
                  <TxLink chain={chain} hash={t.hash} />
                </td>
                <td className={td}>{t.what}</td>
                <td className={cx(td, "font-mono")}>
                  {t.amount} {token.symbol}
                </td>
              </tr>
            ))}
          </Table>
        </div>
      ) : null}
    </Card>
  );
}

const STATUS_TONE: Record<string, "green" | "amber" | "red" | "blue" | "slate" | "violet"> = {
  credited: "green",
  unmatched: "red",
  reversed: "amber",
  shortfall: "red",
  dropped: "slate",
  sent: "blue",
  pending: "slate",
  submitted: "blue",
  confirmed: "violet",
  released: "green",
  failed: "red",
};

/** The caller's deposits (credited or not) and the on-chain settlements of tasks paid from them. */
function ActivityCard({ chain, apiKey }: { chain: WebChainConfig; apiKey: string }) {
  const token = tokensOf(chain).find((t) => t.address.toLowerCase() === chain.ledgerToken.toLowerCase()) ?? { symbol: "", decimals: 0 };
  const account = useQuery({ queryKey: ["chain.account", apiKey], queryFn: () => rest<ChainAccountView>("GET", "/chain/account"), refetchInterval: 2_000 });
  const settlements = useQuery({ queryKey: ["chain.settlements", apiKey], queryFn: () => trpc.chain.settlements.query({ limit: 50 }), refetchInterval: 3_000 });
  const units = (v: string) => `${formatUnitsGrouped(BigInt(v), token.decimals)} ${token.symbol}`;
  return (
    <>
      <Card title="Deposits" id="deposits">
        {account.isError ? <ErrorNotice error={toUiError(account.error)} title="Could not load your deposits" /> : null}
        {account.data ? (
          <div className="space-y-4">
            <p className="text-sm text-slate-600">
              On-chain deposit left:{" "}
              <span className="font-mono text-slate-900" data-testid="deposit-available">
                {units(account.data.onChain.available)}
              </span>{" "}
              (deposited {units(account.data.onChain.deposited)}, settled {units(account.data.onChain.settled)}, withdrawn {units(account.data.onChain.withdrawn)}). Deposits go to account{" "}
              <Mono className="break-all">{account.data.depositAccount}</Mono>.
            </p>
            {account.data.deposits.length ? (
              <Table head={["Transaction", "Amount", "From", "Status", "When"]} caption="Deposits to your account, newest first" right={[1]}>
                {account.data.deposits.map((d) => (
                  <tr key={`${d.txHash}-${d.logIndex}`}>
                    <td className={td}>
                      <TxLink chain={chain} hash={d.txHash} />
                    </td>
                    <td className={cx(td, "text-right font-mono tabular-nums")}>{units(d.amount)}</td>
                    <td className={cx(td, "font-mono text-xs text-slate-500")}>{shortAddress(d.from)}</td>
                    <td className={td} data-testid="deposit-status">
                      <Badge tone={STATUS_TONE[d.status] ?? "slate"}>{d.status}</Badge>
                    </td>
                    <td className={cx(td, "text-slate-600")}>{formatAgo(d.createdAt)}</td>
                  </tr>
                ))}
              </Table>
            ) : (
              <p className="text-sm text-slate-500">No deposits seen yet.</p>
            )}
          </div>
        ) : account.isPending ? (
          <p className="text-sm text-slate-500">Loading…</p>
        ) : null}
      </Card>
      <Card title="On-chain settlements" id="settlements">
        {settlements.isError ? <ErrorNotice error={toUiError(settlements.error)} title="Could not load your settlements" /> : null}
        {settlements.data?.settlements.length ? (
          <Table head={["Task", "Cost", "Status", "Transaction", "Payouts claimable"]} caption="Tasks settled on chain from your deposit, newest first" right={[1]}>
            {settlements.data.settlements.map((s) => (
              <tr key={s.taskId} data-testid="settlement-row">
                <td className={td}>
                  <Link href={`/task?id=${s.taskId}`} className="font-mono text-[0.8125rem] text-brand-700 hover:underline">
                    {s.taskId}
                  </Link>
                </td>
                <td className={cx(td, "text-right font-mono tabular-nums")}>{units(s.amount)}</td>
                <td className={td}>
                  <Badge tone={STATUS_TONE[s.status] ?? "slate"}>{s.status}</Badge>
                </td>
                <td className={td}>{s.txHash ? <TxLink chain={chain} hash={s.txHash} /> : <span className="text-slate-400">not sent yet</span>}</td>
                <td className={cx(td, "text-slate-600")}>{s.releaseAt ? new Date(s.releaseAt).toLocaleString() : "–"}</td>
              </tr>
            ))}
          </Table>
        ) : settlements.data ? (
          <p className="text-sm text-slate-500">
            None yet. Tasks you run after a deposit is credited are paid from it and settled on chain in batches (the dispute window is{" "}
            {chain.disputeWindowSeconds ? `${Math.round(chain.disputeWindowSeconds / 60)} min` : "the contract's"}).
          </p>
        ) : null}
      </Card>
    </>
  );
}

function ChainSection({ chain }: { chain: WebChainConfig }) {
  const { address, status, chainId } = useConnection();
  const apiKey = useApiKey();
  const me = useQuery({ queryKey: ["accounts.me", apiKey], queryFn: () => trpc.accounts.me.query(), enabled: !!apiKey, refetchInterval: 2_000 });
  const connected = status === "connected" && !!address;
  return (
    <div className="space-y-6">
      <dl className="grid gap-4 sm:grid-cols-3">
        <Stat
          label="Stun balance"
          value={<span data-testid="ledger-balance">{apiKey ? (me.data ? formatAmount(me.data.balance) : "…") : "–"}</span>}
          hint={apiKey ? "spendable, base units (updates as deposits are credited)" : "sign in to see it"}
        />
        <Stat label="Chain" value={<span className="text-lg">{chain.name}</span>} hint={`chain id ${chain.chainId}`} />
        <Stat label="Marketplace" value={<Mono className="text-base">{shortAddress(chain.marketplace)}</Mono>} hint={chain.marketplace} />
      </dl>
      {connected ? <BalancesCard chain={chain} address={address as Address} /> : null}
      {connected && apiKey && me.data && chainId === chain.chainId ? (
        <DepositCard chain={chain} address={address as Address} accountId={me.data.accountId} />
      ) : connected ? (
        <Card title="Deposit">
          <p className="text-sm text-slate-600">
            {!apiKey ? (
              <>
                <Link href="/signin?next=/wallet" className="font-medium text-brand-700 underline">
                  Sign in
                </Link>{" "}
                (with this wallet or an API key) to deposit to your Stun balance.
              </>
            ) : chainId !== chain.chainId ? (
              `Switch the wallet to ${chain.name} (chain ${chain.chainId}) to deposit.`
            ) : (
              "Loading your account…"
            )}
          </p>
        </Card>
      ) : null}
      {apiKey ? <ActivityCard chain={chain} apiKey={apiKey} /> : null}
    </div>
  );
}

function WalletBody() {
  const { chain } = useWalletScope();
  return (
    <div className="space-y-6">
      <WalletCard />
      <WalletFamiliesScope>
        <LinkedWalletsCard />
        <ChainRailsSection />
      </WalletFamiliesScope>
      {chain ? (
        <ChainSection chain={chain} />
      ) : (
        <Card title="On-chain settlement">
          <p className="text-sm text-slate-600" data-testid="chain-off">
            On-chain settlement is off on this server: it keeps its ledger only, so there is nothing to deposit on chain. You can still sign in with Ethereum. (A server operator turns it on with the{" "}
            <code className="font-mono text-xs">CHAIN_*</code> settings in docs/CONFIGURATION.md; <code className="font-mono text-xs">npm start</code> runs a local chain.)
          </p>
        </Card>
      )}
    </div>
  );
}

/** /wallet: the connected wallet, its balances on the server's chain, deposits, and the Stun balance they credit. */
export default function WalletPage() {
  return (
    <WalletScope fallback={<LoadingCard label="Loading the wallet" />}>
      <WalletBody />
    </WalletScope>
  );
}
