import { afterAll, beforeAll, expect, it } from "vitest";
import { describeDb } from "../support/database";
import { spawnProvider, startTestNetwork, type TestNetwork } from "../support/network";
import { api } from "../support/api";
import { insertExecution } from "../support/execution-rows";
import { checkLedgerInvariants, getBalances, listEntries } from "../../src/ledger";
import { liveStakeAtRisk } from "../../src/services/stake";

/** Stake and unstake over REST and tRPC: exact balances and ledger entries, and the live-work lock. */
describeDb("accounts.stake / accounts.unstake", () => {
  let net: TestNetwork;

  beforeAll(async () => {
    net = await startTestNetwork();
  });
  afterAll(() => net?.close());

  /** A new account with `funds` from the faucet. */
  async function account(funds: bigint): Promise<{ accountId: string; key: string }> {
    const created = await api(net.url, "POST", "/accounts");
    const key = created.body.apiKey as string;
    if (funds > 0n) expect((await api(net.url, "POST", "/faucet", { key, json: { amount: String(funds) } })).status).toBe(200);
    return { accountId: created.body.accountId, key };
  }

  /** A provider of the account with a live (or finished) execution at `price`, as the dispatcher writes it. */
  const execution = async (accountId: string, price: bigint, status: string): Promise<string> => (await insertExecution(net, { accountId, price, status, taskStatus: "running" })).assignmentId;

  it("stakes and unstakes: balances after, one balanced ledger transaction each, accounts.me shows the stake", async () => {
    const { accountId, key } = await account(10_000n);
    const staked = await api(net.url, "POST", "/accounts/me/stake", { key, json: { amount: "3000" } });
    expect(staked).toEqual({ status: 200, body: { accountId, balance: "7000", escrow: "0", stake: "3000" } });
    const unstaked = await api(net.url, "POST", "/accounts/me/unstake", { key, json: { amount: "1000" } });
    expect(unstaked).toEqual({ status: 200, body: { accountId, balance: "8000", escrow: "0", stake: "2000" } });
    expect((await api(net.url, "GET", "/accounts/me", { key })).body).toEqual({ accountId, balance: "8000", escrow: "0", stake: "2000", storage: { usedBytes: "0", quotaBytes: "2147483648" } });
    expect(await getBalances(net.db, accountId)).toEqual({ balance: 8000n, escrow: 0n, stake: 2000n });

    const entries = (await listEntries(net.db, accountId, { limit: 10 })).map((e) => ({ txId: e.txId, kind: e.kind, account: e.account, amount: e.amount, taskId: e.taskId }));
    const [u1, u2, s1, s2, mint] = entries;
    expect(entries).toHaveLength(5);
    expect([u1, u2]).toEqual(
      expect.arrayContaining([
        { txId: u1!.txId, kind: "unstake", account: `acct:${accountId}:stake`, amount: -1000n, taskId: null },
        { txId: u1!.txId, kind: "unstake", account: `acct:${accountId}:available`, amount: 1000n, taskId: null },
      ]),
    );
    expect([s1, s2]).toEqual(
      expect.arrayContaining([
        { txId: s1!.txId, kind: "stake", account: `acct:${accountId}:available`, amount: -3000n, taskId: null },
        { txId: s1!.txId, kind: "stake", account: `acct:${accountId}:stake`, amount: 3000n, taskId: null },
      ]),
    );
    expect(mint).toMatchObject({ kind: "mint", account: `acct:${accountId}:available`, amount: 10_000n });
    expect(await checkLedgerInvariants(net.db)).toEqual([]);
  });

  it("402 INSUFFICIENT_FUNDS when the balance or the stake is short; nothing moves", async () => {
    const { accountId, key } = await account(500n);
    const over = await api(net.url, "POST", "/accounts/me/stake", { key, json: { amount: "501" } });
    expect(over.status).toBe(402);
    expect(over.body.error).toMatchObject({ code: "INSUFFICIENT_FUNDS", details: { have: "500", need: "501" } });
    // More than any BIGINT balance: still 402, not a database error.
    // Past the largest amount a request may name (MAX_AMOUNT): refused before the ledger (dos.test.ts).
    expect((await api(net.url, "POST", "/accounts/me/stake", { key, json: { amount: `1${"0".repeat(25)}` } })).status).toBe(400);
    expect((await api(net.url, "POST", "/accounts/me/stake", { key, json: { amount: "200" } })).status).toBe(200);
    const under = await api(net.url, "POST", "/accounts/me/unstake", { key, json: { amount: "201" } });
    expect(under.status).toBe(402);
    expect(under.body.error).toMatchObject({ code: "INSUFFICIENT_FUNDS", details: { have: "200", need: "201" } });
    expect(await getBalances(net.db, accountId)).toEqual({ balance: 300n, escrow: 0n, stake: 200n });
  });

  it("sixteen stakes and unstakes in flight at once, as a hostile client sends them: each wins only what the balance or the stake holds", async () => {
    const { accountId, key } = await account(1_000n);
    // Eight stakes of 300 against 1,000: three succeed, five are refused, none leaves a negative balance.
    const stakes = await Promise.all(Array.from({ length: 8 }, () => api(net.url, "POST", "/accounts/me/stake", { key, json: { amount: "300" } })));
    expect(stakes.map((r) => r.status).sort()).toEqual([200, 200, 200, 402, 402, 402, 402, 402]);
    for (const r of stakes.filter((r) => r.status === 402)) expect(r.body.error.code).toBe("INSUFFICIENT_FUNDS");
    expect(await getBalances(net.db, accountId)).toEqual({ balance: 100n, escrow: 0n, stake: 900n });
    // Eight unstakes of 400 against 900: two succeed.
    const unstakes = await Promise.all(Array.from({ length: 8 }, () => api(net.url, "POST", "/accounts/me/unstake", { key, json: { amount: "400" } })));
    expect(unstakes.map((r) => r.status).sort()).toEqual([200, 200, 402, 402, 402, 402, 402, 402]);
    expect(await getBalances(net.db, accountId)).toEqual({ balance: 900n, escrow: 0n, stake: 100n });
    expect(await checkLedgerInvariants(net.db)).toEqual([]);
  });

  it("400 VALIDATION_FAILED for amounts that are not positive integers of base units; 401 without a key", async () => {
    const { key } = await account(100n);
    for (const path of ["/accounts/me/stake", "/accounts/me/unstake"]) {
      for (const json of [{ amount: "0" }, { amount: "-5" }, { amount: "1.5" }, { amount: "ten" }, { amount: 5 }, {}]) {
        const res = await api(net.url, "POST", path, { key, json });
        expect(res.status, `${path} ${JSON.stringify(json)}`).toBe(400);
        expect(res.body.error.code).toBe("VALIDATION_FAILED");
      }
      expect((await api(net.url, "POST", path, { json: { amount: "1" } })).status).toBe(401);
    }
  });

  it("409 STAKE_LOCKED for an unstake below slashMultiple × the prices of the account's live executions", async () => {
    const { accountId, key } = await account(2000n);
    expect((await api(net.url, "POST", "/accounts/me/stake", { key, json: { amount: "2000" } })).status).toBe(200);
    const running = await execution(accountId, 100n, "running");
    await execution(accountId, 50n, "assigned");
    await execution(accountId, 1000n, "completed"); // finished work holds nothing
    expect(await liveStakeAtRisk(net.db, accountId)).toBe(1500n); // 10 × (100 + 50)

    const locked = await api(net.url, "POST", "/accounts/me/unstake", { key, json: { amount: "501" } });
    expect(locked.status).toBe(409);
    expect(locked.body.error).toMatchObject({ code: "STAKE_LOCKED", details: { stake: "2000", locked: "1500", unlocked: "500" } });
    expect((await api(net.url, "POST", "/accounts/me/unstake", { key, json: { amount: "500" } })).body).toMatchObject({ balance: "500", stake: "1500" });
    expect((await api(net.url, "POST", "/accounts/me/unstake", { key, json: { amount: "1" } })).body.error.code).toBe("STAKE_LOCKED");

    await net.db.prisma.assignment.update({ where: { id: running }, data: { status: "completed" } });
    expect(await liveStakeAtRisk(net.db, accountId)).toBe(500n);
    expect((await api(net.url, "POST", "/accounts/me/unstake", { key, json: { amount: "1000" } })).body).toMatchObject({ balance: "1500", stake: "500" });
    expect(await checkLedgerInvariants(net.db)).toEqual([]);
  });

  it("is the same procedure over tRPC, with the stable code in data.stunCode", async () => {
    const { accountId, key } = await account(1000n);
    const trpc = async (path: string, input: unknown) => {
      const res = await fetch(`${net.url}/trpc/${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify(input),
      });
      return { status: res.status, body: (await res.json()) as any };
    };
    const staked = await trpc("accounts.stake", { amount: "400" });
    expect(staked.body.result.data).toEqual({ accountId, balance: "600", escrow: "0", stake: "400" });
    expect((await trpc("accounts.unstake", { amount: "100" })).body.result.data).toMatchObject({ balance: "700", stake: "300" });
    const short = await trpc("accounts.unstake", { amount: "301" });
    expect(short.status).toBe(402);
    expect(short.body.error.data.stunCode).toBe("INSUFFICIENT_FUNDS");
    const bad = await trpc("accounts.stake", { amount: "0" });
    expect(bad.status).toBe(400);
    expect(bad.body.error.data.stunCode).toBe("VALIDATION_FAILED");
    const doc = await api(net.url, "GET", "/openapi.json");
    for (const p of ["/api/v1/accounts/me/stake", "/api/v1/accounts/me/unstake"]) {
      expect(doc.body.paths[p].post.requestBody.content["application/json"].schema.properties.amount, p).toBeDefined();
    }
  });

  it("the provider agent's --stake tops its account up through this API before it connects", async () => {
    const { accountId, key } = await account(5000n);
    const p = await spawnProvider(net.url, key, "staker", ["--stake", "2000", "--benchmark-ms", "0"]);
    try {
      // Registered means it staked first: the balances are final by now.
      expect(await getBalances(net.db, accountId)).toEqual({ balance: 3000n, escrow: 0n, stake: 2000n });
      expect(p.lines.find((l) => l.msg === "staked")).toMatchObject({ amount: "2000", stake: "2000" });
    } finally {
      await p.kill();
    }
  });
});
