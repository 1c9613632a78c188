/**
 * Solana fees (issue #14): compute units and transaction sizes of a deposit (TransferChecked +
 * Memo, the user pays) and of payouts (1 and as many as fit one transaction; to new wallets — each
 * gets its associated token account created, paid by the settlement key — and to wallets that
 * already hold one: transfers only), for an SPL Token mint, a Token-2022 mint and a Token-2022 mint
 * with a transfer fee, each without and with the compute-budget instructions the server sends
 * (SetComputeUnitLimit from a simulation + SetComputeUnitPrice). Measured on litesvm with the real
 * SPL Token, Token-2022, ATA and Memo v1 programs (no validator runs here).
 *
 *   npx tsx bench/solana-fees.ts
 *
 * Cost on a cluster: 5,000 lamports per signature (one here) + the priority fee, limit × price / 10⁶
 * lamports (the limit asked for, not the units used); a new associated token account also locks its
 * rent-exempt minimum (2,039,280 lamports for SPL Token's 165 bytes, more for a Token-2022 account
 * with extensions), refundable only by closing it.
 */
import { address, generateKeyPairSigner, getBase64Encoder } from "@solana/kit";
import { TOKEN_2022_PROGRAM, TOKEN_PROGRAM, type TokenProgram } from "../apps/server/src/chains/solana/chain";
import { type ComputeBudgetPolicy, SolanaPayoutRail, associatedTokenAccount } from "../apps/server/src/chains/solana/payouts";
import { type MintOptions, createTestbed } from "../apps/server/test/chains/solana/testbed";

const PRICE = 10_000n; // µ-lamports per unit: the bench's fee market (litesvm has none)
const budget: ComputeBudgetPolicy = { maxMicroLamports: PRICE, percentile: 75 };
const size = (wire: string) => getBase64Encoder().encode(wire).length;

const tokens: Array<{ name: string; opts: MintOptions }> = [
  { name: "SPL Token", opts: { tokenProgram: TOKEN_PROGRAM } },
  { name: "Token-2022", opts: { tokenProgram: TOKEN_2022_PROGRAM } },
  { name: "Token-2022 + transfer fee", opts: { tokenProgram: TOKEN_2022_PROGRAM, transferFee: { basisPoints: 100, maximumFee: 1_000_000n } } },
];

interface Row {
  token: string;
  what: string;
  cu: bigint;
  bytes: number | string;
  budgetCu: bigint | string;
  limit: number | string;
  budgetBytes: number | string;
  lamports: bigint | string;
}
const rows: Row[] = [];
const fits: string[] = [];

for (const { name, opts } of tokens) {
  const bed = await createTestbed(opts);
  bed.chain.priorityFees = [PRICE];
  const program = (opts.tokenProgram ?? TOKEN_PROGRAM) as TokenProgram;
  const plain = new SolanaPayoutRail(bed.chain, "localnet", bed.mint, bed.settlement, { tokenProgram: program });
  const bidding = new SolanaPayoutRail(bed.chain, "localnet", bed.mint, bed.settlement, { tokenProgram: program, computeBudget: budget });

  const user = await bed.newUser(10_000_000n);
  const dep = await bed.deposit(user, 250_000n, "acc_0mbz3k1x2c4e5f6a7b8c9d0e1f");
  rows.push({
    token: name,
    what: "deposit: TransferChecked + Memo (29 chars)",
    cu: bed.chain.computeUnits(dep),
    bytes: "—",
    budgetCu: "—",
    limit: "—",
    budgetBytes: "—",
    lamports: "5,000 (the user)",
  });
  const depNoMemo = await bed.deposit(user, 1n, null);
  rows.push({ token: name, what: "  (TransferChecked alone)", cu: bed.chain.computeUnits(depNoMemo), bytes: "—", budgetCu: "—", limit: "—", budgetBytes: "—", lamports: "" });

  for (const fresh of [false, true]) {
    const wallets = async (n: number) =>
      fresh
        ? (await Promise.all(Array.from({ length: n }, () => generateKeyPairSigner()))).map((w) => w.address)
        : (await Promise.all(Array.from({ length: n }, () => bed.newUser(0n)))).map((w) => w.address);
    const orders = (to: string[]) => to.map((w, i) => ({ id: String(i), to: w, amount: 100_000n }));
    const maxPlain = (await plain.fit(orders(await wallets(30)))).length;
    const maxBudget = (await bidding.fit(orders(await wallets(30)))).length;
    fits.push(`${name}, ${fresh ? "new wallets" : "holders"}: ${maxPlain} without, ${maxBudget} with compute-budget instructions`);
    for (const n of [1, Math.min(10, maxBudget)]) {
      const run = async (rail: SolanaPayoutRail) => {
        const batch = orders(await wallets(n));
        const prepared = await rail.prepare(batch);
        const lamportsOf = (a: string): bigint => bed.chain.svm.getBalance(address(a)) ?? 0n;
        const before = lamportsOf(bed.settlement.address);
        const rentBefore = await Promise.all(batch.map(async (o) => lamportsOf(await associatedTokenAccount(o.to, bed.mint, program))));
        await rail.broadcast(prepared);
        if (!bed.chain.landed.has(prepared.txId) || bed.chain.landed.get(prepared.txId)!.err) throw new Error(`payout failed: ${bed.chain.landed.get(prepared.txId)?.err}`);
        const rentAfter = await Promise.all(batch.map(async (o) => lamportsOf(await associatedTokenAccount(o.to, bed.mint, program))));
        const rent = rentAfter.reduce((s, r, i) => s + r - rentBefore[i]!, 0n);
        const limit = (JSON.parse(prepared.lifetime) as { computeUnitLimit?: number }).computeUnitLimit;
        return { cu: bed.chain.computeUnits(prepared.txId), bytes: size(prepared.wire), fee: before - lamportsOf(bed.settlement.address) - rent, rent, limit };
      };
      const a = await run(plain);
      const b = await run(bidding);
      rows.push({
        token: name,
        what: `payout ×${n}, ${fresh ? "new wallets (account created)" : "holders (transfer only)"}`,
        cu: a.cu,
        bytes: a.bytes,
        budgetCu: b.cu,
        limit: b.limit ?? "—",
        budgetBytes: b.bytes,
        lamports: `${b.fee}${b.rent > 0n ? ` + ${b.rent / BigInt(n)} rent each` : ""}`,
      });
    }
  }
}

console.log(`Solana fees on litesvm 1.5 (real SPL Token / Token-2022 / ATA / Memo v1 programs); priority price ${PRICE} µ-lamports/CU\n`);
const header = ["token", "transaction", "CU", "bytes", "CU w/ budget", "limit asked", "bytes w/ budget", "lamports w/ budget"];
console.log(`| ${header.join(" | ")} |`);
console.log(`|${header.map((_, i) => (i < 2 ? "---" : "---:")).join("|")}|`);
for (const r of rows) console.log(`| ${[r.token, r.what, r.cu, r.bytes, r.budgetCu, r.limit, r.budgetBytes, r.lamports].join(" | ")} |`);
console.log("\nrecipients per payout transaction (1232 bytes; fit() caps at 20):");
for (const f of fits) console.log(`  ${f}`);
