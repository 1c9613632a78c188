/**
 * Solana fees (issue #14): compute units and transaction sizes of a deposit (SPL TransferChecked +
 * Memo) and of payouts (1 and 10 recipients in one transaction, to new wallets — each gets its
 * associated token account created, paid by the settlement key — and to wallets that already hold
 * one: transfers only), measured on litesvm with the real SPL Token, ATA and Memo programs (no validator runs here).
 *
 *   npx tsx bench/solana-fees.ts
 *
 * Cost on a cluster: 5,000 lamports per signature (one here) + an optional priority fee
 * (compute-unit limit × price); a new associated token account also locks its rent-exempt
 * minimum (2,039,280 lamports), refundable only by closing it.
 */
import { generateKeyPairSigner, getBase64Encoder } from "@solana/kit";
import { SolanaPayoutRail } from "../apps/server/src/chains/solana/payouts";
import { createTestbed } from "../apps/server/test/chains/solana/testbed";

const bed = await createTestbed();
const rail = new SolanaPayoutRail(bed.chain, "localnet", bed.mint, bed.settlement);
const size = (wire: string) => getBase64Encoder().encode(wire).length;
const rows: Array<{ what: string; cu: bigint; bytes: number | string; fee: string }> = [];
const feeOf = (cu: bigint) => `5000 lamports + priority ${cu} CU × price`;

// Deposits: the user pays; measured for the plain ID memo a wallet sends.
const user = await bed.newUser(1_000_000n);
const depSig = await bed.deposit(user, 250_000n, "acc_0mbz3k1x2c4e5f6a7b8c9d0e1f");
rows.push({ what: "deposit: TransferChecked + Memo", cu: bed.chain.computeUnits(depSig), bytes: "—", fee: feeOf(bed.chain.computeUnits(depSig)) });
const depNoMemo = await bed.deposit(user, 1n, null);
rows.push({ what: "  (TransferChecked alone)", cu: bed.chain.computeUnits(depNoMemo), bytes: "—", fee: "" });

const cases = [
  { label: "new wallets: ATA created", rail, fresh: true },
  { label: "wallets holding the token: transfers only", rail, fresh: false },
];
for (const n of [1, 10]) {
  for (const c of cases) {
    const wallets = c.fresh ? await Promise.all(Array.from({ length: n }, () => generateKeyPairSigner())) : await Promise.all(Array.from({ length: n }, () => bed.newUser(0n)));
    const orders = wallets.map((w, i) => ({ id: String(i), to: w.address, amount: 1_000n }));
    const fit = await c.rail.fit(orders);
    const note = fit.length < n ? ` — ${n} don't fit 1232 bytes, ${fit.length} do` : "";
    const prepared = await c.rail.prepare(fit);
    await c.rail.broadcast(prepared);
    const cu = bed.chain.computeUnits(prepared.txId);
    for (const w of wallets.slice(0, fit.length)) if ((await bed.balance(w.address)) !== 1_000n) throw new Error("payout not received");
    rows.push({ what: `payout ×${fit.length} (${c.label})${note}`, cu, bytes: size(prepared.wire), fee: `${feeOf(cu)}${c.fresh ? ` + ${fit.length} × 2,039,280 rent` : ""}` });
  }
}
const many = await Promise.all(Array.from({ length: 30 }, () => generateKeyPairSigner()));
const fits = (await rail.fit(many.map((w, i) => ({ id: String(i), to: w.address, amount: 1n })))).length;
const holders = await Promise.all(Array.from({ length: 30 }, () => bed.newUser(0n)));
const fitsPlain = (await rail.fit(holders.map((w, i) => ({ id: String(i), to: w.address, amount: 1n })))).length;

console.log("Solana fees on litesvm 1.5 (real SPL Token / ATA / Memo v1 programs)\n");
console.log("what".padEnd(72), "compute units".padStart(14), "tx bytes".padStart(22), "  fee");
for (const r of rows) console.log(r.what.padEnd(72), String(r.cu).padStart(14), String(r.bytes).padStart(22), " ", r.fee);
console.log(`\nrecipients per payout transaction (1232 bytes; fit() caps at 20): ${fits} new wallets (ATA created), ${fitsPlain} wallets holding the token`);
