/**
 * Solana payouts bid for block space: every transaction starts with SetComputeUnitLimit (what a
 * simulation on litesvm consumed, plus headroom) and SetComputeUnitPrice (a percentile of the
 * recent priority fees, capped; a cap of 0 leaves it out). The instructions are decoded from the
 * signed bytes, and litesvm charges exactly 5,000 lamports + limit × price / 10⁶. A payout whose
 * transaction was lost is paid once: a rebroadcast while the blockhash lives sends the same bytes
 * (same fee, however the market moved); after the blockhash expired, a new transaction bids the new
 * fee for the same durable payout row.
 */
import { COMPUTE_BUDGET_PROGRAM_ADDRESS, parseSetComputeUnitLimitInstruction, parseSetComputeUnitPriceInstruction } from "@solana-program/compute-budget";
import { type Instruction, address, getBase64Encoder, getCompiledTransactionMessageDecoder, getTransactionDecoder } from "@solana/kit";
import { beforeAll, describe, expect, it } from "vitest";
import { PayoutQueue } from "../../../src/chains/payouts";
import { type ComputeBudgetPolicy, FALLBACK_UNITS, SolanaPayoutRail, computeUnitLimit, priorityFeeFrom } from "../../../src/chains/solana/payouts";
import { newId } from "../../../src/ids";
import { getBalances, mint } from "../../../src/ledger";
import { describeDb } from "../../support/database";
import { expectLedgerInvariantsHold, useLedgerDatabase } from "../../ledger/support";
import { type Testbed, createTestbed } from "./testbed";

/** The instructions of a signed transaction (base64 wire bytes), with their program and data. */
function instructionsOf(wire: string): Instruction[] {
  const tx = getTransactionDecoder().decode(getBase64Encoder().encode(wire));
  const message = getCompiledTransactionMessageDecoder().decode(tx.messageBytes);
  if (message.version === 1) throw new Error("unexpected v1 message");
  return message.instructions.map((ix) => ({ programAddress: address(message.staticAccounts[ix.programAddressIndex]!), data: new Uint8Array(ix.data ?? []) }));
}

/** The decoded compute-budget instructions: limit and price (null when absent), and where they sit. */
function budgetOf(wire: string) {
  const ixs = instructionsOf(wire);
  let units: number | null = null;
  let microLamports: bigint | null = null;
  const positions: number[] = [];
  ixs.forEach((ix, i) => {
    if (ix.programAddress !== COMPUTE_BUDGET_PROGRAM_ADDRESS) return;
    positions.push(i);
    const data = ix.data!;
    if (data[0] === 2) units = parseSetComputeUnitLimitInstruction({ ...ix, data }).data.units;
    else if (data[0] === 3) microLamports = BigInt(parseSetComputeUnitPriceInstruction({ ...ix, data }).data.microLamports);
    else throw new Error(`unexpected compute-budget instruction ${data[0]}`);
  });
  return { units: units as number | null, microLamports: microLamports as bigint | null, positions, count: ixs.length };
}

describe("priority fee arithmetic", () => {
  it("takes the percentile of recent fees, capped; 0 when none or when the cap is 0", () => {
    const recent = [0n, 10n, 500n, 2_000n, 90_000n];
    expect(priorityFeeFrom(recent, 50, 1_000_000n)).toBe(500n);
    expect(priorityFeeFrom(recent, 75, 1_000_000n)).toBe(2_000n);
    expect(priorityFeeFrom(recent, 100, 1_000_000n)).toBe(90_000n);
    expect(priorityFeeFrom(recent, 0, 1_000_000n)).toBe(0n);
    expect(priorityFeeFrom(recent, 100, 1_000n)).toBe(1_000n); // capped
    expect(priorityFeeFrom(recent, 75, 0n)).toBe(0n); // disabled
    expect(priorityFeeFrom([], 75, 1_000n)).toBe(0n);
    expect(computeUnitLimit(1_000n)).toBe(2_200);
    expect(computeUnitLimit(2_000_000n)).toBe(1_400_000);
  });
});

describeDb("solana payouts with compute-budget instructions", () => {
  const db = useLedgerDatabase();
  let bed: Testbed;
  const policy: ComputeBudgetPolicy = { maxMicroLamports: 50_000n, percentile: 75 };
  const rail = (p: ComputeBudgetPolicy = policy) => new SolanaPayoutRail(bed.chain, "localnet", bed.mint, bed.settlement, { computeBudget: p });
  const funded = async (amount: bigint) => {
    const id = newId("acc");
    await db().prisma.account.create({ data: { id } });
    await db().prisma.$transaction((tx) => mint(tx, id, amount));
    return id;
  };
  const sol = (who: string) => bed.chain.svm.getBalance(address(who))!;
  const rowOf = (id: string) => db().prisma.externalPayout.findUniqueOrThrow({ where: { id } });

  beforeAll(async () => {
    bed = await createTestbed();
  });

  it("leads the transaction with a simulated unit limit and the capped percentile price; litesvm charges exactly that", async () => {
    const account = await funded(10_000n);
    const [a, b] = [await bed.newUser(0n), await bed.newUser(0n)];
    bed.chain.priorityFees = [0n, 100n, 7_000n, 20_000n, 900_000n, 900_000n, 900_000n, 900_000n];
    const q = new PayoutQueue(db(), rail(), { maxBatch: 10 });
    const p1 = await q.request(account, a.address, 300n);
    const p2 = await q.request(account, b.address, 200n);
    const lamportsBefore = sol(bed.settlement.address);
    const simulations = bed.chain.simulations;
    expect(await q.tick()).toMatchObject({ sent: 2 });
    expect(bed.chain.simulations - simulations).toBe(1);
    const row = await rowOf(p1.id);
    expect((await rowOf(p2.id)).txId).toBe(row.txId);
    const budget = budgetOf(row.wire!);
    expect(budget.positions).toEqual([0, 1]); // first, before the transfers
    expect(budget.microLamports).toBe(50_000n); // the 75th percentile (900,000) capped at 50,000
    const used = bed.chain.computeUnits(row.txId!);
    expect(budget.units).toBe(computeUnitLimit(used)); // the simulation consumed what the landing did
    expect(budget.units!).toBeGreaterThan(Number(used));
    expect(JSON.parse(row.lifetime!)).toMatchObject({ computeUnitLimit: budget.units, microLamportsPerUnit: "50000" });
    // The accounts asked about are the ones the payout writes: the settlement key, its token account, the recipients'.
    expect(bed.chain.feeQueries.at(-1)).toContain(bed.settlement.address);
    expect(bed.chain.feeQueries.at(-1)).toHaveLength(4);
    const priority = (BigInt(budget.units!) * 50_000n + 999_999n) / 1_000_000n;
    expect(lamportsBefore - sol(bed.settlement.address)).toBe(5_000n + priority);
    expect(await q.tick()).toMatchObject({ confirmed: 2 });
    expect(await bed.balance(a.address)).toBe(300n);
    expect(await bed.balance(b.address)).toBe(200n);
    await expectLedgerInvariantsHold(db());
  });

  it("pays once when a lost transaction is resent: same bytes and fee while its blockhash lives, a new fee after it expired", async () => {
    const account = await funded(5_000n);
    const to = await bed.newUser(0n);
    const q = new PayoutQueue(db(), rail({ maxMicroLamports: 1_000_000n, percentile: 50 }), { maxBatch: 10 });
    const p = await q.request(account, to.address, 1_234n);

    // Sent at 1,000 µ-lamports; the network loses it.
    bed.chain.priorityFees = [1_000n];
    bed.chain.dropNext();
    expect(await q.sendPending()).toMatchObject({ sent: 1 });
    const first = await rowOf(p.id);
    expect(budgetOf(first.wire!).microLamports).toBe(1_000n);

    // The market moves, the blockhash still lives: the same bytes again (the fee is not raised in place: two live transactions could both land), lost again.
    bed.chain.priorityFees = [40_000n];
    bed.chain.dropNext();
    const sends = bed.chain.sends;
    expect(await q.tick()).toEqual({ sent: 0, confirmed: 0, failed: 0, expired: 0 });
    expect(bed.chain.sends - sends).toBe(1);
    expect((await rowOf(p.id)).txId).toBe(first.txId);

    // The blockhash expires unlanded: the same payout row is paid by a new transaction bidding the new fee.
    bed.chain.expireBlockhash();
    const lamportsBefore = sol(bed.settlement.address);
    expect(await q.tick()).toEqual({ sent: 1, confirmed: 0, failed: 0, expired: 1 });
    const second = await rowOf(p.id);
    expect(second.txId).not.toBe(first.txId);
    expect(second.attempts).toBe(2);
    expect(second.lastError).toMatch(/expired without landing/);
    const budget = budgetOf(second.wire!);
    expect(budget.microLamports).toBe(40_000n);
    expect(lamportsBefore - sol(bed.settlement.address)).toBe(5_000n + (BigInt(budget.units!) * 40_000n + 999_999n) / 1_000_000n);

    // Confirmed once; the first transaction never landed and never can; a late rebroadcast of it is refused.
    expect(await q.tick()).toEqual({ sent: 0, confirmed: 1, failed: 0, expired: 0 });
    expect(await q.tick()).toEqual({ sent: 0, confirmed: 0, failed: 0, expired: 0 });
    expect(bed.chain.landed.has(first.txId!)).toBe(false);
    await expect(bed.chain.sendTransaction(first.wire!)).rejects.toThrow(/rejected/);
    expect(await bed.balance(to.address)).toBe(1_234n);
    expect((await rowOf(p.id)).status).toBe("confirmed");
    expect((await getBalances(db(), account)).balance).toBe(5_000n - 1_234n);
    await expectLedgerInvariantsHold(db());
  });

  it("a cap of 0 sends no SetComputeUnitPrice (5,000 lamports only); no simulation: the measured fallback limit", async () => {
    const account = await funded(1_000n);
    const [holder, fresh] = [await bed.newUser(0n), (await bed.newUser(0n)).address];
    bed.chain.priorityFees = [5_000n];
    const q = new PayoutQueue(db(), rail({ maxMicroLamports: 0n, percentile: 75 }), { maxBatch: 1 });
    const p = await q.request(account, holder.address, 10n);
    const before = sol(bed.settlement.address);
    await q.tick();
    const row = await rowOf(p.id);
    expect(budgetOf(row.wire!)).toMatchObject({ microLamports: null, positions: [0] });
    expect(before - sol(bed.settlement.address)).toBe(5_000n);

    // An RPC that cannot simulate: the limit is the measured constant (a transfer; a create for a wallet without a token account).
    bed.chain.simulationFails = true;
    try {
      const newWallet = (await import("@solana/kit")).generateKeyPairSigner;
      const stranger = (await newWallet()).address;
      const q2 = new PayoutQueue(db(), rail(), { maxBatch: 1 });
      const a = await q2.request(account, fresh, 20n);
      await q2.tick();
      expect(budgetOf((await rowOf(a.id)).wire!).units).toBe(FALLBACK_UNITS.base + FALLBACK_UNITS.transfer);
      const b = await q2.request(account, stranger, 30n);
      await q2.tick();
      expect(budgetOf((await rowOf(b.id)).wire!).units).toBe(FALLBACK_UNITS.base + FALLBACK_UNITS.transfer + FALLBACK_UNITS.createAccount);
      expect(await q2.tick()).toMatchObject({ confirmed: 1 });
      expect(await bed.balance(stranger)).toBe(30n);
    } finally {
      bed.chain.simulationFails = false;
    }
    await expectLedgerInvariantsHold(db());
  });
});
