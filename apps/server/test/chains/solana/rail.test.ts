/**
 * The Solana rail's configuration (SOLANA_* parsed once by env.ts; unset = off) and the rail as the
 * server runs it: its loop credits a memo deposit and pays a queued payout on litesvm, started from
 * a solana-keygen keypair file.
 */
import { generateKeyPairSync } from "node:crypto";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { address, createKeyPairSignerFromBytes, lamports } from "@solana/kit";
import { beforeAll, expect, it } from "vitest";
import { readKeypairFile, resolveSolanaConfig } from "../../../src/chains/solana/config";
import { SolanaRail } from "../../../src/chains/solana/service";
import { parseConfig } from "../../../src/env";
import { newId } from "../../../src/ids";
import { getBalances } from "../../../src/ledger";
import { describeDb } from "../../support/database";
import { eventually } from "../../support/network";
import { expectLedgerInvariantsHold, useLedgerDatabase } from "../../ledger/support";
import { createTestbed, type Testbed } from "./testbed";

/** A solana-keygen keypair file (JSON array: 32-byte seed ‖ 32-byte public key), mode 0600. */
function keypairFile(dir: string, mode = 0o600): string {
  const jwk = generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" });
  const bytes = [...Buffer.from(jwk.d!, "base64url"), ...Buffer.from(jwk.x!, "base64url")];
  const file = path.join(dir, `key-${newId("k")}.json`);
  writeFileSync(file, JSON.stringify(bytes));
  chmodSync(file, mode);
  return file;
}

const dir = mkdtempSync(path.join(os.tmpdir(), "stun-solana-"));
const MINT = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v";
const OWNER = "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin";

it("solana config: off unless SOLANA_RPC_URL is set; the rest required with it; the keypair file checked", () => {
  expect(resolveSolanaConfig({ SOLANA_POLL_MS: 5000, SOLANA_PAYOUT_BATCH: 10, SOLANA_PRIORITY_FEE_MAX_MICROLAMPORTS: 100_000, SOLANA_PRIORITY_FEE_PERCENTILE: 75 })).toEqual({
    solana: undefined,
    issues: [],
  });
  expect(parseConfig({}).solana).toBeUndefined();
  expect(() => parseConfig({ SOLANA_MINT: MINT })).toThrow(/SOLANA_MINT: set without SOLANA_RPC_URL/);
  expect(() => parseConfig({ SOLANA_RPC_URL: "http://127.0.0.1:8899" })).toThrow(/SOLANA_NETWORK: required[\s\S]*SOLANA_MINT: required[\s\S]*SOLANA_DEPOSIT_OWNER: required/);
  expect(() => parseConfig({ SOLANA_RPC_URL: "http://127.0.0.1:8899", SOLANA_NETWORK: "localnet", SOLANA_MINT: "0xnot", SOLANA_DEPOSIT_OWNER: OWNER })).toThrow(
    /SOLANA_MINT: must be a base58 Solana address/,
  );
  const base = { SOLANA_RPC_URL: "http://127.0.0.1:8899", SOLANA_NETWORK: "devnet", SOLANA_MINT: MINT, SOLANA_DEPOSIT_OWNER: OWNER };
  expect(parseConfig(base).solana).toMatchObject({ network: "devnet", mint: MINT, depositOwner: OWNER, settlementKey: undefined, pollMs: 5000, payoutBatch: 10 });
  const open = keypairFile(dir, 0o644);
  expect(() => parseConfig({ ...base, SOLANA_SETTLEMENT_KEY: open })).toThrow(/SOLANA_SETTLEMENT_KEY: .*readable by group or others/);
  const bad = path.join(dir, "bad.json");
  writeFileSync(bad, "[1,2,3]", { mode: 0o600 });
  expect(() => readKeypairFile(bad)).toThrow("not a JSON array of 64 bytes");
  expect(() => parseConfig({ ...base, SOLANA_SETTLEMENT_KEY: path.join(dir, "missing.json") })).toThrow(/no such file/);
  expect(parseConfig({ ...base, SOLANA_SETTLEMENT_KEY: keypairFile(dir) }).solana?.settlementKey).toHaveLength(64);
});

it("solana config: the priority-fee cap and percentile default, and bad values stop the start with the reason", () => {
  const base = { SOLANA_RPC_URL: "http://127.0.0.1:8899", SOLANA_NETWORK: "devnet", SOLANA_MINT: MINT, SOLANA_DEPOSIT_OWNER: OWNER };
  expect(parseConfig(base).solana?.computeBudget).toEqual({ maxMicroLamports: 100_000n, percentile: 75 });
  expect(parseConfig({ ...base, SOLANA_PRIORITY_FEE_MAX_MICROLAMPORTS: "0", SOLANA_PRIORITY_FEE_PERCENTILE: "90" }).solana?.computeBudget).toEqual({ maxMicroLamports: 0n, percentile: 90 });
  expect(parseConfig({ ...base, SOLANA_PRIORITY_FEE_MAX_MICROLAMPORTS: "50000000" }).solana?.computeBudget.maxMicroLamports).toBe(50_000_000n);
  expect(() => parseConfig({ ...base, SOLANA_PRIORITY_FEE_MAX_MICROLAMPORTS: "-1" })).toThrow(/SOLANA_PRIORITY_FEE_MAX_MICROLAMPORTS: must be 0 \(no priority fee\) or more/);
  expect(() => parseConfig({ ...base, SOLANA_PRIORITY_FEE_MAX_MICROLAMPORTS: "50000001" })).toThrow(
    /SOLANA_PRIORITY_FEE_MAX_MICROLAMPORTS: must be at most 50000000 micro-lamports per compute unit \(50 lamports; 0.07 SOL for a 1.4M-unit transaction\)/,
  );
  expect(() => parseConfig({ ...base, SOLANA_PRIORITY_FEE_MAX_MICROLAMPORTS: "1.5" })).toThrow(/SOLANA_PRIORITY_FEE_MAX_MICROLAMPORTS: must be a whole number of micro-lamports per compute unit/);
  expect(() => parseConfig({ ...base, SOLANA_PRIORITY_FEE_MAX_MICROLAMPORTS: "lots" })).toThrow(/SOLANA_PRIORITY_FEE_MAX_MICROLAMPORTS/);
  expect(() => parseConfig({ ...base, SOLANA_PRIORITY_FEE_PERCENTILE: "101" })).toThrow(/SOLANA_PRIORITY_FEE_PERCENTILE: must be 0–100/);
});

describeDb("solana rail: the server's loop credits deposits and pays payouts", () => {
  const db = useLedgerDatabase();
  let bed: Testbed;

  beforeAll(async () => {
    bed = await createTestbed();
  });

  it("credits a memo deposit and pays a queued payout from the keypair file's token account", async () => {
    const keyFile = keypairFile(dir);
    const settlementKey = readKeypairFile(keyFile);
    const signer = await createKeyPairSignerFromBytes(settlementKey);
    bed.chain.svm.airdrop(signer.address, lamports(1_000_000_000n));
    await bed.fund(signer.address, 1_000_000n);
    const log = { info: () => undefined, warn: () => undefined, error: (o: object, m: string) => console.error(m, o) };
    const rail = await SolanaRail.start(
      db(),
      {
        network: "localnet",
        rpcUrl: "http://unused",
        mint: bed.mint,
        depositOwner: bed.depositOwner.address,
        settlementKey,
        pollMs: 100,
        payoutBatch: 10,
        computeBudget: { maxMicroLamports: 100_000n, percentile: 75 },
      },
      log,
      bed.chain,
    );
    try {
      expect(rail.depositAccount).toBe(bed.depositAccount);
      const account = newId("acc");
      await db().prisma.account.create({ data: { id: account } });
      const user = await bed.newUser(10_000n);
      await bed.deposit(user, 9_000n, account);
      await eventually(async () => ((await getBalances(db(), account)).balance === 9_000n ? true : undefined), 10_000, "deposit credited");
      const recipient = await bed.newUser(0n);
      const p = await rail.payouts!.request(account, recipient.address, 4_000n);
      await eventually(async () => ((await rail.payouts!.get(p.id))?.status === "confirmed" ? true : undefined), 10_000, "payout confirmed");
      expect(await bed.balance(recipient.address)).toBe(4_000n);
      // The server's payouts carry the compute-budget instructions: the limit from a simulation (the price is 0 here: no recent fees).
      const row = await db().prisma.externalPayout.findUniqueOrThrow({ where: { id: p.id } });
      expect(JSON.parse(row.lifetime!)).toMatchObject({ computeUnitLimit: expect.any(Number), microLamportsPerUnit: "0" });
      expect(await bed.balance(signer.address)).toBe(1_000_000n - 4_000n);
      expect((await getBalances(db(), account)).balance).toBe(5_000n);
      expect(address(rail.depositAccount)).toBe(bed.depositAccount);
    } finally {
      await rail.stop();
    }
    await expectLedgerInvariantsHold(db());
  });
});
