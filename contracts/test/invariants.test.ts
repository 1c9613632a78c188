/**
 * Invariants over random sequences of create / settle / settleBatch / release / dispute / refund /
 * withdraw / slash / stake / deposit / settleFromDeposits / withdrawDeposit operations and time
 * jumps (fast-check, on a real EVM):
 *
 * - after every step, the marketplace holds exactly what it owes, per token: escrow of open tasks,
 *   cost of settled-but-unreleased tasks, every claimable credit (slashed stake included) and every
 *   Stun account's unspent deposit; and Staking holds exactly every stake, in STUN;
 * - a JS model of every credit, stake and split (the ledger's `splitFee`) matches the chain;
 * - tokens are conserved: Σ balances over all holders (marketplace included) is constant — for ETH,
 *   once the gas each transaction paid is added back;
 * - draining everything at the end (refund, release, unstake, withdraw) leaves the marketplace and
 *   Staking with exactly zero of every token.
 */
import { splitFee } from "@stun/shared";
import fc from "fast-check";
import { type Address, type Hex, keccak256, toHex } from "viem";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type DepositSettlement, ETH, type Settlement, TaskStatus, idToBytes32, signDepositSettlements, signDepositWithdrawal, signDispute, signSettlementBatch, signSlash } from "../src-ts";
import { DISPUTE_WINDOW, type Stun, UNBONDING_DELAY, digest, settledEvents, startStun } from "./support/stun";

let stun: Stun;
let base: Hex;
beforeAll(async () => {
  stun = await startStun();
  base = await stun.chain.snapshot();
});
afterAll(() => stun?.stop());

type Action =
  | { kind: "create"; who: number; token: number; amount: bigint; deadlineIn: bigint; withCreator: boolean }
  | { kind: "settle"; task: number; executions: Array<{ provider: number; share: number }> }
  | { kind: "batch"; tasks: number[]; price: bigint }
  | { kind: "release"; task: number }
  | { kind: "dispute"; task: number }
  | { kind: "refund"; task: number }
  | { kind: "withdraw"; pick: number }
  | { kind: "slash"; provider: number; amount: bigint; toRequester: boolean; beneficiaryAmount: bigint }
  | { kind: "stake"; provider: number; op: "add" | "unstake" | "withdraw"; amount: bigint }
  | { kind: "time"; seconds: bigint }
  | { kind: "deposit"; who: number; token: number; account: number; amount: bigint }
  | { kind: "depositSettle"; picks: number[]; executions: Array<{ provider: number; share: number }>; withCreator: boolean }
  | { kind: "depositWithdraw"; pick: number; share: number; to: number };

/**
 * fast-check's seed: fixed, so every run checks the same sequences and the coverage check at the
 * end (every kind of operation exercised) cannot fail by chance — with a random seed one CI run drew
 * no refund in 25 sequences. `STUN_FC_SEED=<n>` explores other sequences.
 */
const SEED = Number(process.env.STUN_FC_SEED || 20261126);

const arbAction: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("create" as const),
      who: fc.nat(2),
      token: fc.nat(2),
      amount: fc.bigInt({ min: 1n, max: 10n ** 6n }),
      deadlineIn: fc.bigInt({ min: 30n, max: 3n * 3_600n }),
      withCreator: fc.boolean(),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant("settle" as const), task: fc.nat(), executions: fc.array(fc.record({ provider: fc.nat(2), share: fc.nat(100) }), { minLength: 1, maxLength: 4 }) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("batch" as const), tasks: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }), price: fc.bigInt({ min: 0n, max: 1_000n }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("release" as const), task: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("dispute" as const), task: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("refund" as const), task: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("withdraw" as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("slash" as const),
      provider: fc.nat(2),
      amount: fc.bigInt({ min: 1n, max: 10n ** 21n }),
      toRequester: fc.boolean(),
      beneficiaryAmount: fc.bigInt({ min: 0n, max: 10n ** 21n }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("stake" as const),
      provider: fc.nat(2),
      op: fc.constantFrom("add" as const, "unstake" as const, "withdraw" as const),
      amount: fc.bigInt({ min: 1n, max: 10n ** 20n }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("deposit" as const), who: fc.nat(2), token: fc.nat(2), account: fc.nat(1), amount: fc.bigInt({ min: 1n, max: 10n ** 6n }) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("depositSettle" as const),
      picks: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }),
      executions: fc.array(fc.record({ provider: fc.nat(2), share: fc.nat(100) }), { minLength: 1, maxLength: 3 }),
      withCreator: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("depositWithdraw" as const), pick: fc.nat(), share: fc.nat(100), to: fc.nat(2) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("time" as const),
      seconds: fc.oneof(
        { weight: 6, arbitrary: fc.bigInt({ min: 1n, max: 1_800n }) },
        { weight: 3, arbitrary: fc.bigInt({ min: 3_600n, max: 3n * 3_600n }) },
        { weight: 1, arbitrary: fc.bigInt({ min: 1n, max: 3n * 86_400n }) },
      ),
    }),
  },
);

interface ModelTask {
  id: Hex;
  requester: Address;
  token: Address;
  amount: bigint;
  deadline: bigint;
  creator: Address;
  status: number;
  cost: bigint;
  releaseAt: bigint;
  /** The Stun account a settleFromDeposits task was paid from. */
  account?: Hex;
  payout?: { providers: readonly Address[]; shares: readonly bigint[]; treasuryShare: bigint; creatorShare: bigint };
}

it("balances are conserved and the marketplace and Staking stay exactly solvent over random operation sequences", async () => {
  const { accounts } = stun;
  const requesters = [accounts.requester.address, accounts.requester2.address, accounts.outsider.address];
  const providers = [accounts.p1.address, accounts.p2.address, accounts.p3.address];
  const tokens: Address[] = [ETH, stun.deployment.token, stun.usd];
  const market = stun.deployment.marketplace;
  const staking = stun.deployment.staking;
  const holders: Address[] = [...stun.chain.accounts.map((a) => a.address), market, staking];
  const treasury = accounts.treasury.address;
  const stunAccounts = [idToBytes32("acc_invariant_a"), idToBytes32("acc_invariant_b")];
  let runs = 0;
  /** Operations actually sent (an action with nothing to act on is skipped), by kind. */
  const done = new Map<string, number>();

  const balanceOf = async (token: Address, who: Address) =>
    token === ETH ? stun.chain.publicClient.getBalance({ address: who }) : stun.chain.publicClient.readContract({ address: token, abi: stun.musd().abi, functionName: "balanceOf", args: [who] });
  const totals = async () => Promise.all(tokens.map(async (t) => (await Promise.all(holders.map((h) => balanceOf(t, h)))).reduce((a, b) => a + b, 0n)));

  await fc.assert(
    fc.asyncProperty(fc.array(arbAction, { minLength: 15, maxLength: 40 }), async (actions) => {
      runs++;
      await stun.chain.revert(base);
      base = await stun.chain.snapshot();

      const tasks: ModelTask[] = [];
      const claimable = new Map<string, bigint>();
      const key = (token: Address, who: Address) => `${token}:${who}`;
      const credit = (token: Address, who: Address, amount: bigint) => claimable.set(key(token, who), (claimable.get(key(token, who)) ?? 0n) + amount);
      const stakes = new Map<Address, { staked: bigint; unbonding: bigint; end: bigint }>();
      for (const p of providers) stakes.set(p, { ...(await stun.staking().read.stakeOf([p])), end: 0n });
      /** Unspent deposits, by `${account}:${token}`. */
      const deposits = new Map<string, bigint>();
      const addDeposit = (account: Hex, token: Address, amount: bigint) => deposits.set(`${account}:${token}`, (deposits.get(`${account}:${token}`) ?? 0n) + amount);
      let gasPaid = 0n;
      let nonce = 0;
      const before = await totals();

      let kind = "";
      const send = async (hash: Promise<Hex>) => {
        const receipt = await stun.mined(hash);
        done.set(kind, (done.get(kind) ?? 0) + 1);
        gasPaid += receipt.gasUsed * receipt.effectiveGasPrice;
        return receipt;
      };
      const owed = (token: Address) => {
        let sum = 0n;
        for (const t of tasks) {
          if (t.token !== token) continue;
          if (t.status === TaskStatus.Escrowed) sum += t.amount;
          if (t.status === TaskStatus.Settled) sum += t.cost;
        }
        for (const [k, v] of claimable) if (k.startsWith(`${token}:`)) sum += v;
        for (const [k, v] of deposits) if (k.endsWith(`:${token}`)) sum += v;
        return sum;
      };
      const staked = (token: Address) => (token === stun.deployment.token ? [...stakes.values()].reduce((sum, s) => sum + s.staked + s.unbonding, 0n) : 0n);
      const checkSolvency = async () => {
        for (const token of tokens) {
          expect(await balanceOf(token, market), `marketplace balance of ${token}`).toBe(owed(token));
          expect(await balanceOf(token, staking), `staking balance of ${token}`).toBe(staked(token));
        }
      };
      const settleExpect = (t: ModelTask, s: Settlement, event: ReturnType<typeof settledEvents>[number]) => {
        const split = splitFee(s.amounts.map((amount, i) => ({ id: String(i), amount })));
        expect(event.payout).toEqual({ providers: s.providers, shares: split.providers.map((p) => p.amount), treasuryShare: split.treasury, creatorShare: split.creator });
        t.status = TaskStatus.Settled;
        t.cost = split.total;
        t.releaseAt = event.releaseAt;
        t.payout = event.payout;
        if (t.amount > split.total) credit(t.token, t.requester, t.amount - split.total);
      };
      const release = async (t: ModelTask) => {
        await send(stun.market(accounts.outsider.address).write.release([t.id, t.payout!]));
        t.status = TaskStatus.Released;
        t.payout!.providers.forEach((p, i) => credit(t.token, p, t.payout!.shares[i]!));
        if (t.creator === "0x0000000000000000000000000000000000000000") credit(t.token, treasury, t.payout!.treasuryShare + t.payout!.creatorShare);
        else {
          credit(t.token, treasury, t.payout!.treasuryShare);
          credit(t.token, t.creator, t.payout!.creatorShare);
        }
      };
      const withdraw = async (token: Address, who: Address) => {
        await send(stun.market(who).write.withdraw([token]));
        claimable.set(key(token, who), 0n);
      };
      const pick = <T>(list: T[], i: number) => (list.length === 0 ? undefined : list[i % list.length]);

      for (const action of actions) {
        const now = await stun.chain.now();
        kind = action.kind === "stake" ? `stake:${action.op}` : action.kind;
        switch (action.kind) {
          case "create": {
            const id = keccak256(toHex(`inv-${runs}-${tasks.length}`));
            const token = tokens[action.token]!;
            const requester = requesters[action.who]!;
            const deadline = now + action.deadlineIn;
            const creator = action.withCreator ? accounts.creator.address : "0x0000000000000000000000000000000000000000";
            await send(stun.market(requester).write.createTask([id, token, action.amount, deadline, creator], { value: token === ETH ? action.amount : 0n }));
            tasks.push({ id, requester, token, amount: action.amount, deadline, creator, status: TaskStatus.Escrowed, cost: 0n, releaseAt: 0n });
            break;
          }
          case "settle": {
            const t = pick(
              tasks.filter((x) => x.status === TaskStatus.Escrowed && x.deadline >= now + 5n),
              action.task,
            );
            if (!t) break;
            const n = BigInt(action.executions.length);
            const s: Settlement = {
              taskId: t.id,
              resultDigest: digest(t.id),
              providers: action.executions.map((e) => providers[e.provider]!),
              amounts: action.executions.map((e) => (t.amount * BigInt(e.share)) / 100n / n),
            };
            const receipt = await send(stun.market(accounts.outsider.address).write.settle([s, await stun.signSettlement(s)]));
            settleExpect(t, s, settledEvents(receipt)[0]!);
            break;
          }
          case "batch": {
            const open = tasks.filter((x) => x.status === TaskStatus.Escrowed && x.deadline >= now + 5n);
            const chosen = [...new Set(action.tasks.map((i) => pick(open, i)).filter((x): x is ModelTask => x !== undefined))];
            if (chosen.length === 0) break;
            const batch: Settlement[] = chosen.map((t) => ({
              taskId: t.id,
              resultDigest: digest(t.id),
              providers: [providers[0]!, providers[1]!],
              amounts: [action.price < t.amount / 2n ? action.price : t.amount / 2n, 1n <= t.amount / 2n ? 1n : 0n],
            }));
            const sigs = await signSettlementBatch(stun.settlers.slice(1), stun.domain, batch);
            const events = settledEvents(await send(stun.market(accounts.outsider.address).write.settleBatch([batch, sigs])));
            chosen.forEach((t, i) => settleExpect(t, batch[i]!, events[i]!));
            break;
          }
          case "release": {
            const t = pick(
              tasks.filter((x) => x.status === TaskStatus.Settled && x.releaseAt <= now),
              action.task,
            );
            if (t) await release(t);
            break;
          }
          case "dispute": {
            const t = pick(
              tasks.filter((x) => x.status === TaskStatus.Settled && x.releaseAt > now + 5n),
              action.task,
            );
            if (!t) break;
            const sigs = await signDispute(stun.settlers.slice(0, 2), stun.domain, t.id, digest(t.id));
            await send(stun.market(accounts.outsider.address).write.dispute([t.id, sigs]));
            t.status = TaskStatus.Disputed;
            if (t.account) addDeposit(t.account, t.token, t.cost);
            else credit(t.token, t.requester, t.cost);
            break;
          }
          case "refund": {
            const t = pick(
              tasks.filter((x) => x.status === TaskStatus.Escrowed && x.deadline < now),
              action.task,
            );
            if (!t) break;
            await send(stun.market(accounts.outsider.address).write.refund([t.id]));
            t.status = TaskStatus.Refunded;
            credit(t.token, t.requester, t.amount);
            break;
          }
          case "withdraw": {
            const owedTo = [...claimable].filter(([, v]) => v > 0n).map(([k]) => k.split(":") as [Address, Address]);
            const entry = pick(owedTo, action.pick);
            if (entry) await withdraw(entry[0], entry[1]);
            break;
          }
          case "slash": {
            const provider = providers[action.provider]!;
            const beneficiary = action.toRequester ? accounts.requester.address : "0x0000000000000000000000000000000000000000";
            const beneficiaryAmount = action.toRequester ? (action.beneficiaryAmount < action.amount ? action.beneficiaryAmount : action.amount) : 0n;
            const order = { provider, amount: action.amount, beneficiary, beneficiaryAmount, nonce: keccak256(toHex(`slash-${runs}-${nonce++}`)) } as const;
            await send(stun.market(accounts.outsider.address).write.slash([order, await signSlash(stun.settlers.slice(0, 2), stun.domain, order)]));
            const s = stakes.get(provider)!;
            const fromStake = order.amount < s.staked ? order.amount : s.staked;
            const rest = order.amount - fromStake;
            const fromUnbonding = rest < s.unbonding ? rest : s.unbonding;
            s.staked -= fromStake;
            s.unbonding -= fromUnbonding;
            const slashed = fromStake + fromUnbonding;
            const toBeneficiary = beneficiaryAmount < slashed ? beneficiaryAmount : slashed;
            credit(stun.deployment.token, beneficiary, toBeneficiary);
            credit(stun.deployment.token, treasury, slashed - toBeneficiary);
            claimable.delete(key(stun.deployment.token, "0x0000000000000000000000000000000000000000"));
            break;
          }
          case "stake": {
            const provider = providers[action.provider]!;
            const s = stakes.get(provider)!;
            const m = stun.staking(provider);
            if (action.op === "add") {
              await send(m.write.addStake([action.amount]));
              s.staked += action.amount;
            } else if (action.op === "unstake" && s.staked > 0n) {
              const amount = action.amount < s.staked ? action.amount : s.staked;
              await send(m.write.requestUnstake([amount]));
              s.staked -= amount;
              s.unbonding += amount;
              s.end = (await stun.chain.now()) + UNBONDING_DELAY;
            } else if (action.op === "withdraw" && s.unbonding > 0n && s.end <= now) {
              await send(m.write.withdrawStake());
              s.unbonding = 0n;
            }
            break;
          }
          case "time":
            await stun.chain.increaseTime(action.seconds);
            break;
          case "deposit": {
            const token = tokens[action.token]!;
            const account = stunAccounts[action.account]!;
            await send(stun.market(requesters[action.who]!).write.deposit([token, action.amount, account], { value: token === ETH ? action.amount : 0n }));
            addDeposit(account, token, action.amount);
            break;
          }
          case "depositSettle": {
            // Each pick spends up to a share of one funded (account, token) deposit.
            const funded = [...deposits].filter(([, v]) => v > 0n).map(([k]) => k.split(":") as [Hex, Address]);
            const chosen = [
              ...new Set(
                action.picks
                  .map((i) => pick(funded, i))
                  .filter((x) => x !== undefined)
                  .map((x) => x.join(":")),
              ),
            ].map((k) => k.split(":") as [Hex, Address]);
            if (chosen.length === 0) break;
            const creator = action.withCreator ? accounts.creator.address : "0x0000000000000000000000000000000000000000";
            const n = BigInt(action.executions.length);
            const batch: DepositSettlement[] = chosen.map(([account, token], i) => {
              const taskId = keccak256(toHex(`inv-dep-${runs}-${tasks.length}-${i}`));
              return {
                taskId,
                resultDigest: digest(taskId), // what the dispute action signs
                account,
                token,
                modelCreator: creator,
                providers: action.executions.map((e) => providers[e.provider]!),
                amounts: action.executions.map((e) => (deposits.get(`${account}:${token}`)! * BigInt(e.share)) / 100n / n),
              };
            });
            const sigs = await signDepositSettlements(stun.settlers.slice(0, 2), stun.domain, batch);
            const events = settledEvents(await send(stun.market(accounts.outsider.address).write.settleFromDeposits([batch, sigs])));
            batch.forEach((s, i) => {
              const t: ModelTask = {
                id: s.taskId,
                requester: "0x0000000000000000000000000000000000000000",
                token: s.token,
                amount: 0n,
                deadline: 0n,
                creator,
                status: TaskStatus.Escrowed,
                cost: 0n,
                releaseAt: 0n,
                account: s.account,
              };
              settleExpect(t, { taskId: s.taskId, resultDigest: s.resultDigest, providers: s.providers, amounts: s.amounts }, events[i]!);
              t.amount = t.cost;
              addDeposit(s.account, s.token, -t.cost);
              tasks.push(t);
            });
            break;
          }
          case "depositWithdraw": {
            const funded = [...deposits].filter(([, v]) => v > 0n).map(([k]) => k.split(":") as [Hex, Address]);
            const chosen = pick(funded, action.pick);
            if (!chosen) break;
            const [account, token] = chosen;
            const amount = (deposits.get(`${account}:${token}`)! * BigInt(action.share)) / 100n;
            if (amount === 0n) break;
            const w = { account, token, amount, to: requesters[action.to]!, nonce: keccak256(toHex(`wdr-${runs}-${nonce++}`)), deadline: 2n ** 40n };
            await send(stun.market(accounts.outsider.address).write.withdrawDeposit([w, await signDepositWithdrawal(stun.settlers.slice(0, 2), stun.domain, w)]));
            addDeposit(account, token, -amount);
            credit(token, w.to, amount);
            break;
          }
        }
        await checkSolvency();
      }

      // The model's credits and stakes are the chain's.
      for (const token of tokens) {
        for (const who of holders.slice(0, -2)) {
          expect(await stun.market().read.claimable([token, who]), `claimable ${token} of ${who}`).toBe(claimable.get(key(token, who)) ?? 0n);
        }
      }
      for (const p of providers) {
        const s = await stun.staking().read.stakeOf([p]);
        expect([s.staked, s.unbonding]).toEqual([stakes.get(p)!.staked, stakes.get(p)!.unbonding]);
      }
      for (const t of tasks) expect((await stun.market().read.getTask([t.id])).status).toBe(t.status);
      for (const [k, v] of deposits) {
        const [account, token] = k.split(":") as [Hex, Address];
        expect(await stun.market().read.depositOf([account, token]), `deposit ${k}`).toBe(v);
      }

      // Drain: every task ends, every stake unbonds, every credit is withdrawn.
      kind = "drain";
      await stun.chain.increaseTime(3n * 3_600n + DISPUTE_WINDOW + 1n);
      for (const t of tasks) {
        if (t.status === TaskStatus.Escrowed) {
          await send(stun.market(accounts.outsider.address).write.refund([t.id]));
          t.status = TaskStatus.Refunded;
          credit(t.token, t.requester, t.amount);
        } else if (t.status === TaskStatus.Settled) {
          await release(t);
        }
        await checkSolvency();
      }
      for (const [p, s] of stakes) {
        if (s.staked > 0n) {
          await send(stun.staking(p).write.requestUnstake([s.staked]));
          s.unbonding += s.staked;
          s.staked = 0n;
        }
      }
      for (const [k, v] of deposits) {
        if (v === 0n) continue;
        const [account, token] = k.split(":") as [Hex, Address];
        const w = { account, token, amount: v, to: accounts.requester.address, nonce: keccak256(toHex(`drain-${runs}-${nonce++}`)), deadline: 2n ** 40n };
        await send(stun.market(accounts.outsider.address).write.withdrawDeposit([w, await signDepositWithdrawal(stun.settlers.slice(0, 2), stun.domain, w)]));
        deposits.set(k, 0n);
        credit(token, w.to, v);
      }
      await stun.chain.increaseTime(UNBONDING_DELAY);
      for (const [p, s] of stakes) {
        if (s.unbonding > 0n) {
          await send(stun.staking(p).write.withdrawStake());
          s.unbonding = 0n;
        }
      }
      await checkSolvency();
      for (const [k, v] of claimable) {
        if (v > 0n) {
          const [token, who] = k.split(":") as [Address, Address];
          await withdraw(token, who);
        }
      }
      for (const token of tokens) {
        expect(await balanceOf(token, market), `drained marketplace, ${token}`).toBe(0n);
        expect(await balanceOf(token, staking), `drained staking, ${token}`).toBe(0n);
      }

      // Conservation across all holders (ETH: plus the gas paid).
      const after = await totals();
      expect(after[0]! + gasPaid).toBe(before[0]);
      expect(after.slice(1)).toEqual(before.slice(1));
    }),
    { numRuns: 25, seed: SEED },
  );
  expect(runs).toBeGreaterThanOrEqual(25);
  console.log(`invariants: ${runs} sequences; transactions by kind: ${JSON.stringify(Object.fromEntries([...done].sort()))}`);
  for (const k of ["create", "settle", "batch", "release", "dispute", "refund", "withdraw", "slash", "stake:add", "stake:unstake", "deposit", "depositSettle", "depositWithdraw"]) {
    expect(done.get(k) ?? 0, `no ${k} was exercised`).toBeGreaterThan(0);
  }
});
