/**
 * Property: money is conserved across random sequences of mint / submit (hold) / complete (settle
 * with 1–3 providers, split by @stun/shared's splitFee) / fail (refund). After every sequence: Σ(balance + escrow + stake) over accounts + treasury equals
 * everything minted, no cached column is negative, every account matches a plain JS model, and
 * checkLedgerInvariants finds nothing.
 *
 * One database serves all runs (a fresh one per run would cost ~1 s each on PGlite); every run uses
 * its own accounts, and the global checks cover all runs so far.
 */
import fc from "fast-check";
import { StunError, splitFee } from "@stun/shared";
import { expect, it } from "vitest";
import { SYSTEM_MINT, SYSTEM_TREASURY, getBalances, getLedgerBalance, hold, mint, refund, settle } from "../../src/ledger";
import { describeDb } from "../support/database";
import { expectLedgerInvariantsHold, useLedgerDatabase } from "./support";

type Op =
  | { op: "mint"; who: number; amount: bigint }
  | { op: "submit"; who: number; maxPrice: bigint }
  /** Each chosen provider's price is pct% of the task's per-provider share of what is held. */
  | { op: "complete"; task: number; providers: Array<{ who: number; pct: number }> }
  | { op: "fail"; task: number };

const REQUESTERS = 3;
const PROVIDERS = 4;

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant("mint" as const), who: fc.nat(REQUESTERS - 1), amount: fc.bigInt(1n, 2_000n) }),
  fc.record({ op: fc.constant("submit" as const), who: fc.nat(REQUESTERS - 1), maxPrice: fc.bigInt(1n, 1_500n) }),
  fc.record({
    op: fc.constant("complete" as const),
    task: fc.nat(20),
    providers: fc.uniqueArray(fc.record({ who: fc.nat(PROVIDERS - 1), pct: fc.integer({ min: 0, max: 100 }) }), {
      minLength: 1,
      maxLength: 3,
      selector: (p) => p.who,
    }),
  }),
  fc.record({ op: fc.constant("fail" as const), task: fc.nat(20) }),
);

describeDb("ledger property: money is conserved", () => {
  const db = useLedgerDatabase();
  let run = 0;
  let mintedTotal = 0n;

  it("across random mint / submit / complete / fail sequences", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 14 }), async (ops) => {
        const r = ++run;
        const req = Array.from({ length: REQUESTERS }, (_, i) => `r${r}q${i}`);
        const prov = Array.from({ length: PROVIDERS }, (_, i) => `r${r}p${i}`);
        const creator = `r${r}c`;
        await db().prisma.account.createMany({ data: [...req, ...prov, creator].map((id) => ({ id })) });

        // The model: expected balance/escrow per account, tasks in flight.
        const model = new Map<string, { balance: bigint; escrow: bigint }>();
        for (const id of [...req, ...prov, creator]) model.set(id, { balance: 0n, escrow: 0n });
        const open: { id: string; requester: string; held: bigint }[] = [];
        let treasury = 0n;
        let taskNo = 0;

        for (const o of ops) {
          if (o.op === "mint") {
            await db().prisma.$transaction((tx) => mint(tx, req[o.who]!, o.amount));
            model.get(req[o.who]!)!.balance += o.amount;
            mintedTotal += o.amount;
          } else if (o.op === "submit") {
            const who = req[o.who]!;
            const taskId = `r${r}t${++taskNo}`;
            const m = model.get(who)!;
            const attempt = db().prisma.$transaction((tx) => hold(tx, who, o.maxPrice, taskId));
            if (m.balance >= o.maxPrice) {
              await attempt;
              m.balance -= o.maxPrice;
              m.escrow += o.maxPrice;
              open.push({ id: taskId, requester: who, held: o.maxPrice });
            } else {
              const err = await attempt.then(
                () => undefined,
                (e: unknown) => e,
              );
              expect(err).toBeInstanceOf(StunError);
              expect((err as StunError).code).toBe("INSUFFICIENT_FUNDS");
            }
          } else if (open.length > 0) {
            const [task] = open.splice(o.task % open.length, 1);
            const t = task!;
            const m = model.get(t.requester)!;
            if (o.op === "fail") {
              await db().prisma.$transaction((tx) => refund(tx, t.requester, t.held, t.id));
              m.escrow -= t.held;
              m.balance += t.held;
            } else {
              const n = BigInt(o.providers.length);
              const s = splitFee(o.providers.map((p) => ({ id: prov[p.who]!, amount: (t.held * BigInt(p.pct)) / (100n * n) })));
              const cost = s.total;
              await db().prisma.$transaction((tx) =>
                settle(tx, {
                  taskId: t.id,
                  requesterId: t.requester,
                  held: t.held,
                  payouts: s.providers.map((p) => ({ accountId: p.id, amount: p.amount })),
                  treasury: s.treasury,
                  creator: { accountId: creator, amount: s.creator },
                }),
              );
              m.escrow -= t.held;
              m.balance += t.held - cost;
              for (const p of s.providers) model.get(p.id)!.balance += p.amount;
              model.get(creator)!.balance += s.creator;
              treasury += s.treasury;
            }
          }
        }

        // This run's accounts match the model.
        for (const [id, want] of model) {
          expect(await getBalances(db(), id)).toEqual({ ...want, stake: 0n });
        }
        // Conservation over everything so far.
        const sums = await db().prisma.account.aggregate({ _sum: { balance: true, escrow: true, stake: true } });
        const held = (sums._sum.balance ?? 0n) + (sums._sum.escrow ?? 0n) + (sums._sum.stake ?? 0n);
        const treasuryNow = await getLedgerBalance(db(), SYSTEM_TREASURY);
        expect(held + treasuryNow).toBe(mintedTotal);
        expect(-(await getLedgerBalance(db(), SYSTEM_MINT))).toBe(mintedTotal);
        expect(treasury).toBeGreaterThanOrEqual(0n);
        const negatives = await db().prisma.account.count({
          where: { OR: [{ balance: { lt: 0n } }, { escrow: { lt: 0n } }, { stake: { lt: 0n } }] },
        });
        expect(negatives).toBe(0);
        await expectLedgerInvariantsHold(db());
      }),
      { numRuns: 60 },
    );
  });
});
