/**
 * Conservation across the ledger and the chain: what the ledger says the marketplace holds for
 * Stun, term by term, against what the contract holds (docs/CHAIN.md "Conservation").
 *
 * - `pool`: the deposits and open escrows. Ledger: −balance(system:chain) plus what it counts as
 *   gone but the chain still holds (settlements and withdrawals in flight, the part of an open
 *   escrow it does not mirror: beyond `held`, or everything once a refund or a settlement is due).
 *   Chain: Σ depositOf of accounts with credited deposits + Σ amount of linked escrows still open.
 * - `settled`: settled on chain, not released: Σ costs of the ledger's `confirmed` rows (escrowed
 *   and from deposits) against Σ cost on chain of those of them still Settled.
 * - `holdings` (chain only): the token balance of the marketplace; `pool + settled` must not exceed
 *   it (the rest is claimable credits, unmatched deposits, other tasks).
 *
 * Further terms (on-chain stake) come from `extraTerms`, each in its own module.
 */
import { type Address, type Hex, erc20Abi, zeroAddress } from "viem";
import { TaskStatus, accountToBytes32, computeMarketplaceAbi, idToBytes32 } from "@stun/contracts";
import type { AppContext } from "../context";
import { SYSTEM_CHAIN, getLedgerBalance } from "../ledger";
import type { ChainClients } from "./clients";
import type { ChainConfig } from "./config";

export interface ConservationTerm {
  name: string;
  /** What the ledger expects the contract to hold. */
  ledger: bigint;
  /** What the contract holds. */
  chain: bigint;
}

export interface ConservationReport {
  chainId: number;
  token: Address;
  terms: ConservationTerm[];
  /** The marketplace's balance of the token. */
  holdings: bigint;
  /** One line per term that differs, or holdings below the terms. Empty: conserved. */
  mismatches: string[];
}

export interface ConservationSource {
  app: AppContext;
  cfg: ChainConfig;
  clients: ChainClients;
}

/** Adds terms (e.g. stake) to the report: each returns its own. */
export type ExtraTerms = (src: ConservationSource) => Promise<ConservationTerm[]>;

export async function checkConservation(src: ConservationSource, extraTerms: ExtraTerms[] = []): Promise<ConservationReport> {
  const { app, cfg, clients } = src;
  const { publicClient } = clients;
  const prisma = app.db.prisma;
  const read = <T>(functionName: string, args: readonly unknown[]) => publicClient.readContract({ address: cfg.marketplace, abi: computeMarketplaceAbi, functionName, args } as never) as Promise<T>;
  const getTask = (id: Hex) => read<{ status: number; amount: bigint; cost: bigint }>("getTask", [id]);
  const sum = async (q: Promise<Array<{ s: string | null }>>) => BigInt((await q)[0]?.s ?? "0");

  // ── pool ──
  const mirrored = -(await getLedgerBalance(app.db, SYSTEM_CHAIN));
  const settling = await sum(prisma.$queryRaw`
    SELECT SUM(amount)::text AS s FROM "ChainSettlement" WHERE "chainId" = ${cfg.chainId} AND status IN ('pending', 'submitted')`);
  const withdrawing = await sum(prisma.$queryRaw`
    SELECT SUM(amount)::text AS s FROM "ExternalPayout" WHERE family = 'evm' AND network = ${String(cfg.chainId)} AND status IN ('pending', 'sent')`);
  const escrows = await prisma.$queryRaw<Array<{ taskId: string; escrowId: string; status: string; amount: bigint; held: bigint; cost: bigint | null }>>`
    SELECT e."taskId", e."escrowId", e.status, e.amount, e.held, t.cost FROM "ChainEscrow" e JOIN "Task" t ON t.id = e."taskId"
    WHERE e."chainId" = ${cfg.chainId} AND e.status IN ('linked', 'settling', 'pending', 'refund_due')`;
  let unmirrored = 0n;
  let openOnChain = 0n;
  for (const e of escrows) {
    const amount = BigInt(e.amount);
    // What of the escrow the ledger still mirrors in system:chain.
    const mirroredPart = e.status === "linked" ? BigInt(e.held) : e.status === "settling" ? BigInt(e.cost ?? 0n) : 0n;
    unmirrored += amount - mirroredPart;
    const t = await getTask(e.escrowId as Hex);
    if (Number(t.status) === TaskStatus.Escrowed) openOnChain += BigInt(t.amount);
  }
  const accounts = await prisma.$queryRaw<Array<{ accountId: string }>>`
    SELECT DISTINCT "accountId" FROM "ExternalDeposit" WHERE family = 'evm' AND network = ${String(cfg.chainId)} AND status = 'credited' AND "accountId" IS NOT NULL`;
  let deposits = 0n;
  for (const a of accounts) deposits += await read<bigint>("depositOf", [accountToBytes32(a.accountId), cfg.token]);
  const pool: ConservationTerm = { name: "pool", ledger: mirrored + settling + withdrawing + unmirrored, chain: deposits + openOnChain };

  // ── settled, not released ──
  const settled = await prisma.$queryRaw<Array<{ id32: string; amount: bigint }>>`
    SELECT e."escrowId" AS id32, t.cost AS amount FROM "ChainEscrow" e JOIN "Task" t ON t.id = e."taskId" WHERE e."chainId" = ${cfg.chainId} AND e.status = 'confirmed'
    UNION ALL
    SELECT s."taskId" AS id32, s.amount FROM "ChainSettlement" s WHERE s."chainId" = ${cfg.chainId} AND s.status = 'confirmed'`;
  let settledLedger = 0n;
  let settledChain = 0n;
  for (const s of settled) {
    settledLedger += BigInt(s.amount);
    const t = await getTask((s.id32.startsWith("0x") ? s.id32 : idToBytes32(s.id32)) as Hex);
    if (Number(t.status) === TaskStatus.Settled) settledChain += BigInt(t.cost);
  }
  const terms: ConservationTerm[] = [pool, { name: "settled", ledger: settledLedger, chain: settledChain }];
  for (const extra of extraTerms) terms.push(...(await extra(src)));

  const holdings =
    cfg.token === zeroAddress
      ? await publicClient.getBalance({ address: cfg.marketplace })
      : await publicClient.readContract({ address: cfg.token, abi: erc20Abi, functionName: "balanceOf", args: [cfg.marketplace] });
  const mismatches = terms.filter((t) => t.ledger !== t.chain).map((t) => `${t.name}: the ledger expects ${t.ledger}, the chain holds ${t.chain}`);
  const accounted = pool.chain + settledChain;
  if (accounted > holdings) mismatches.push(`holdings: the marketplace holds ${holdings} of ${cfg.token}, less than the pool and settled terms (${accounted})`);
  return { chainId: cfg.chainId, token: cfg.token, terms, holdings, mismatches };
}
