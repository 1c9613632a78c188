import { expect, it } from "vitest";
import { measureFees } from "../bench/fees";

// The figures in README.md come from bench/fees.ts; this keeps them from drifting far unnoticed.
it("a deposit and payouts of 1 and 10 recipients stay within their gas budgets", async () => {
  const [deposit, payout1, payout10] = await measureFees();
  expect(deposit?.gasUsed).toBeLessThan(10_000n);
  expect(payout1?.gasUsed).toBeLessThan(20_000n);
  expect(payout10?.gasUsed).toBeLessThan(60_000n);
  // the marketplace's own transaction of a deposit costs well under the 0.01 TON a depositor forwards
  expect(deposit?.totalFees).toBeLessThan(10_000_000n);
});
