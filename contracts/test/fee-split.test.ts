/**
 * The on-chain fee split (FeeSplit.sol) against the ledger's `splitFee` (packages/shared): the same
 * floors, the same remainder rule, over random amounts — through `previewSplit` and through real
 * settlements and releases.
 */
import { splitFee } from "@stun/shared";
import fc from "fast-check";
import type { Address, Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DISPUTE_WINDOW, type Stun, digest, settledEvents, startStun } from "./support/stun";

let stun: Stun;
beforeAll(async () => {
  stun = await startStun();
});
afterAll(() => stun?.stop());

/** Amounts of every size: tiny (many ties and leftovers), prices, 18-decimal sums, and huge (512-bit products). */
const arbAmount = fc.oneof(fc.bigInt({ min: 0n, max: 5n }), fc.bigInt({ min: 0n, max: 10_000n }), fc.bigInt({ min: 0n, max: 10n ** 24n }), fc.bigInt({ min: 0n, max: 2n ** 200n }));

function reference(amounts: readonly bigint[]) {
  const split = splitFee(amounts.map((amount, i) => ({ id: String(i), amount })));
  return [split.total, split.treasury, split.creator, split.providers.map((p) => p.amount)] as const;
}

describe("FeeSplit = packages/shared splitFee", () => {
  it("on random amounts (previewSplit, 1–32 executions)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(arbAmount, { minLength: 1, maxLength: 32 }), async (amounts) => {
        const onChain = await stun.market().read.previewSplit([amounts]);
        expect(onChain).toEqual(reference(amounts));
      }),
      { numRuns: 300 },
    );
  });

  it("on the rounding corner cases", async () => {
    const cases: bigint[][] = [
      [0n],
      [1n],
      [999n],
      [1n, 1n, 1n],
      [2n, 3n, 5n, 10n],
      Array(7).fill(1n),
      Array(32).fill(1n),
      Array(32).fill(2n ** 200n + 1n),
      [10n, 10n, 13n],
      [0n, 0n, 7n],
      [2n ** 255n - 1n], // the largest total: 512-bit products
    ];
    for (const amounts of cases) expect(await stun.market().read.previewSplit([amounts])).toEqual(reference(amounts));
  });

  it("settle + release credit exactly the ledger's split", async () => {
    const { p1, p2, p3, treasury, creator } = stun.accounts;
    const providers = [p1.address, p2.address, p3.address];
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ who: fc.integer({ min: 0, max: 2 }), amount: fc.oneof(fc.bigInt({ min: 0n, max: 50n }), fc.bigInt({ min: 0n, max: 10n ** 9n })) }), {
          minLength: 1,
          maxLength: 6,
        }),
        async (executions) => {
          const who = executions.map((e) => providers[e.who]!);
          const amounts = executions.map((e) => e.amount);
          const [total, treasuryShare, creatorShare, shares] = reference(amounts);
          const id: Hex = stun.taskId(`fee-${n++}`);
          const deadline = (await stun.chain.now()) + 86_400n;
          await stun.mined(stun.market(stun.accounts.requester.address).write.createTask([id, stun.usd, total + 1n, deadline, creator.address]));
          const s = { taskId: id, resultDigest: digest(id), providers: who, amounts };
          const receipt = await stun.mined(stun.market().write.settle([s, await stun.signSettlement(s)]));
          const payout = settledEvents(receipt)[0]!.payout;
          expect(payout).toEqual({ providers: who, shares, treasuryShare, creatorShare });

          const holders: Address[] = [...providers, treasury.address, creator.address];
          const before = await Promise.all(holders.map((h) => stun.market().read.claimable([stun.usd, h])));
          await stun.chain.increaseTime(DISPUTE_WINDOW);
          await stun.mined(stun.market().write.release([id, payout]));
          const after = await Promise.all(holders.map((h) => stun.market().read.claimable([stun.usd, h])));
          const expected = holders.map((h, i) => {
            if (i < 3) return shares.reduce((sum, share, j) => (who[j] === h ? sum + share : sum), 0n);
            return i === 3 ? treasuryShare : creatorShare;
          });
          expect(after.map((a, i) => a - before[i]!)).toEqual(expected);
        },
      ),
      { numRuns: 25 },
    );
  });
});
