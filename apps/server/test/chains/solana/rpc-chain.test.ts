/**
 * rpcSolanaChain against a JSON-RPC endpoint that answers in Solana's wire format (a local HTTP
 * server serving the transactions a litesvm run produced, shaped as a validator's JSON): the
 * requests carry finalized commitment and the cursor, and the replies — u64s as JSON numbers,
 * base58 instruction data, postTokenBalances — parse into the deposits and statuses the rail uses.
 */
import { once } from "node:events";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { getBase58Decoder, getBase64Decoder, getCompiledTransactionMessageDecoder, getTransactionDecoder, getBase64Encoder } from "@solana/kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SolanaDepositSource } from "../../../src/chains/solana/deposits";
import { SolanaPayoutRail, associatedTokenAccount, computeUnitLimit } from "../../../src/chains/solana/payouts";
import { rpcSolanaChain } from "../../../src/chains/solana/rpc-chain";
import { createTestbed, type Testbed } from "./testbed";

describe("solana: the JSON-RPC chain access", () => {
  let bed: Testbed;
  let server: Server;
  let url: string;
  const calls: Array<{ method: string; params: unknown[] }> = [];
  let depositSig: string;
  const sent: string[] = [];
  const handlers: Record<string, (params: unknown[]) => unknown> = {};

  beforeAll(async () => {
    bed = await createTestbed();
    const user = await bed.newUser(1_000n);
    depositSig = await bed.deposit(user, 250n, "acc_rpc_test");
    const landed = bed.chain.landed.get(depositSig)!.view;
    const b58 = getBase58Decoder();
    const keys = [...new Set(landed.instructions.flatMap((ix) => [...ix.accounts, ix.programAddress]))];
    handlers.getSignaturesForAddress = () => [{ signature: depositSig, slot: Number(landed.slot), err: null, memo: "[12] acc_rpc_test", blockTime: 1_700_000_000, confirmationStatus: "finalized" }];
    handlers.getTransaction = () => ({
      slot: Number(landed.slot),
      blockTime: 1_700_000_000,
      version: 0,
      meta: {
        err: null,
        fee: 5000,
        preBalances: [],
        postBalances: [],
        innerInstructions: [],
        logMessages: [],
        preTokenBalances: [],
        postTokenBalances: landed.tokenAccounts.map((t) => ({
          accountIndex: keys.indexOf(t.address),
          mint: t.mint,
          owner: t.owner,
          programId: "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
          uiTokenAmount: { amount: "250", decimals: 6, uiAmount: 0.00025, uiAmountString: "0.00025" },
        })),
        loadedAddresses: { writable: [], readonly: [] },
        computeUnitsConsumed: 488,
      },
      transaction: {
        signatures: [depositSig],
        message: {
          accountKeys: keys,
          header: { numRequiredSignatures: 1, numReadonlySignedAccounts: 0, numReadonlyUnsignedAccounts: 3 },
          recentBlockhash: "11111111111111111111111111111111",
          instructions: landed.instructions.map((ix) => ({
            programIdIndex: keys.indexOf(ix.programAddress),
            accounts: ix.accounts.map((a) => keys.indexOf(a)),
            data: b58.decode(ix.data),
            stackHeight: null,
          })),
        },
      },
    });
    handlers.getLatestBlockhash = () => ({ context: { slot: 10 }, value: { blockhash: bed.chain.svm.latestBlockhash(), lastValidBlockHeight: 3_000_000_150 } });
    handlers.isBlockhashValid = () => ({ context: { slot: 10 }, value: false });
    handlers.getSignatureStatuses = () => ({
      context: { slot: 10 },
      value: [{ slot: 42, confirmations: null, err: { InstructionError: [0, { Custom: 1 }] }, confirmationStatus: "finalized", status: { Err: {} } }, null],
    });
    handlers.getMultipleAccounts = (params) => ({
      context: { slot: 10 },
      value: (params[0] as string[]).map((a) =>
        bed.chain.svm.getAccount(a as never).exists
          ? { data: ["", "base64"], executable: false, lamports: 2039280, owner: "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA", rentEpoch: 0, space: 165 }
          : null,
      ),
    });
    handlers.getAccountInfo = (params) => {
      const acc = bed.chain.svm.getAccount(params[0] as never);
      return {
        context: { slot: 10 },
        value: acc.exists ? { data: [getBase64Decoder().decode(acc.data), "base64"], executable: false, lamports: 1461600, owner: acc.programAddress, rentEpoch: 0, space: 82 } : null,
      };
    };
    handlers.sendTransaction = (params) => {
      sent.push(params[0] as string);
      const tx = getTransactionDecoder().decode(getBase64Encoder().encode(params[0] as string));
      return b58.decode(Object.values(tx.signatures)[0]!);
    };
    server = createServer(async (req, res) => {
      let body = "";
      for await (const chunk of req) body += chunk;
      const { id, method, params } = JSON.parse(body) as { id: number; method: string; params: unknown[] };
      calls.push({ method, params });
      const handler = handlers[method];
      res.setHeader("content-type", "application/json");
      res.end(handler ? JSON.stringify({ jsonrpc: "2.0", id, result: handler(params) }) : JSON.stringify({ jsonrpc: "2.0", id, error: { code: -32601, message: "Method not found" } }));
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => {
    server?.close();
  });

  it("reads a deposit with its memo at finalized commitment, after the cursor", async () => {
    const source = new SolanaDepositSource(rpcSolanaChain(url), "devnet", bed.depositAccount);
    const scan = await source.scan("5cursorSignature1111111111111111111111111111111111111111111111111", 10);
    expect(scan.cursor).toBe(depositSig);
    expect(scan.deposits).toEqual([
      {
        family: "solana",
        network: "devnet",
        txId: depositSig,
        index: 0,
        accountTag: "acc_rpc_test",
        token: bed.mint,
        amount: 250n,
        from: expect.any(String),
        slotOrLt: expect.any(BigInt),
        final: true,
      },
    ]);
    const sigCall = calls.find((c) => c.method === "getSignaturesForAddress")!;
    expect(sigCall.params[0]).toBe(bed.depositAccount);
    // kit sends no commitment when it is "finalized" (the RPC's default); anything else would be a bug.
    const commitment = (params: unknown[]) => (params[1] as { commitment?: string }).commitment ?? "finalized";
    expect(sigCall.params[1]).toMatchObject({ until: "5cursorSignature1111111111111111111111111111111111111111111111111", limit: 1000 });
    expect(commitment(sigCall.params)).toBe("finalized");
    const txCall = calls.find((c) => c.method === "getTransaction")!;
    expect(txCall.params[0]).toBe(depositSig);
    expect(txCall.params[1]).toMatchObject({ encoding: "json", maxSupportedTransactionVersion: 0 });
    expect(commitment(txCall.params)).toBe("finalized");
  });

  it("prepares, sends and reads the status of a payout through the RPC", async () => {
    const rail = new SolanaPayoutRail(rpcSolanaChain(url), "devnet", bed.mint, bed.settlement);
    const holder = await bed.newUser(0n);
    const prepared = await rail.prepare([{ id: "p1", to: holder.address, amount: 9n }]);
    const message = getCompiledTransactionMessageDecoder().decode(getTransactionDecoder().decode(getBase64Encoder().encode(prepared.wire)).messageBytes);
    expect(message.lifetimeToken).toBe(bed.chain.svm.latestBlockhash());
    expect(JSON.parse(prepared.lifetime)).toEqual({ blockhash: bed.chain.svm.latestBlockhash(), lastValidBlockHeight: "3000000150" });
    await rail.broadcast(prepared);
    expect(sent).toEqual([prepared.wire]);
    expect(calls.find((c) => c.method === "sendTransaction")!.params[1]).toMatchObject({ encoding: "base64", skipPreflight: true });
    // The canned status: landed, finalized, failed.
    expect(await rail.status(prepared)).toEqual({ state: "failed", reason: '{"InstructionError":[0,{"Custom":1}]}' });
    expect(calls.find((c) => c.method === "getSignatureStatuses")!.params[1]).toMatchObject({ searchTransactionHistory: true });
    handlers.getSignatureStatuses = () => ({ context: { slot: 10 }, value: [null] });
    expect(await rail.status(prepared)).toEqual({ state: "expired" }); // never seen, blockhash no longer valid
    handlers.isBlockhashValid = () => ({ context: { slot: 10 }, value: true });
    expect(await rail.status(prepared)).toEqual({ state: "in-flight" });
  });

  it("bids for block space through the RPC: recent fees for the written accounts, a simulation without signature checks", async () => {
    handlers.getRecentPrioritizationFees = () => [10, 20, 30, 4_000].map((fee, i) => ({ slot: 100 + i, prioritizationFee: fee }));
    handlers.simulateTransaction = () => ({ context: { slot: 10 }, value: { err: null, logs: [], accounts: null, unitsConsumed: 6_200, returnData: null } });
    const rail = new SolanaPayoutRail(rpcSolanaChain(url), "devnet", bed.mint, bed.settlement, { computeBudget: { maxMicroLamports: 1_000n, percentile: 75 } });
    const holder = await bed.newUser(0n);
    const prepared = await rail.prepare([{ id: "p2", to: holder.address, amount: 9n }]);
    expect(JSON.parse(prepared.lifetime)).toMatchObject({ computeUnitLimit: computeUnitLimit(6_200n), microLamportsPerUnit: "30" });
    const feeCall = calls.findLast((c) => c.method === "getRecentPrioritizationFees")!;
    expect(feeCall.params[0]).toEqual([bed.settlement.address, await associatedTokenAccount(bed.settlement.address, bed.mint), await associatedTokenAccount(holder.address, bed.mint)]);
    const simCall = calls.findLast((c) => c.method === "simulateTransaction")!;
    expect(simCall.params[1]).toMatchObject({ encoding: "base64", sigVerify: false, replaceRecentBlockhash: false });
    // The simulated transaction asked for the most units; the signed one asks for what it used plus headroom.
    expect(simCall.params[0]).not.toBe(prepared.wire);
  });

  it("credits what the deposit account's balance rose by when that is less than the transfer (a transfer fee)", async () => {
    const plain = handlers.getTransaction!;
    handlers.getTransaction = (params) => {
      const tx = plain(params) as { meta: { preTokenBalances: unknown[]; postTokenBalances: Array<{ accountIndex: number; mint: string; uiTokenAmount: { amount: string } }> } };
      const deposit = tx.meta.postTokenBalances.find(
        (b) => b.accountIndex === (tx as unknown as { transaction: { message: { accountKeys: string[] } } }).transaction.message.accountKeys.indexOf(bed.depositAccount),
      )!;
      tx.meta.preTokenBalances = [{ ...deposit, uiTokenAmount: { amount: "1000", decimals: 6, uiAmount: 0.001, uiAmountString: "0.001" } }];
      deposit.uiTokenAmount = { ...deposit.uiTokenAmount, amount: "1247" };
      return tx;
    };
    try {
      const scan = await new SolanaDepositSource(rpcSolanaChain(url), "devnet", bed.depositAccount).scan(null, 10);
      expect(scan.deposits.map((d) => d.amount)).toEqual([247n]);
    } finally {
      handlers.getTransaction = plain;
    }
  });
});
