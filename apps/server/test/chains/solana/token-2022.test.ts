/**
 * Token-2022 mints on litesvm (it ships the real Token-2022 and ATA programs): the rail reads the
 * mint at start and uses its owner program for the deposit account, deposits and payouts. A
 * Token-2022 deposit is credited once; a mint with a transfer fee credits what the deposit account
 * actually received (the fee stays withheld in it) and its payouts reach the recipient less the fee;
 * a transfer of another token program or mint is recorded unmatched, never credited; mints Stun
 * cannot use stop the start with the reason.
 */
import { AccountRole, type Instruction, address, generateKeyPairSigner, lamports } from "@solana/kit";
import { getTransferCheckedInstruction } from "@solana-program/token";
import { getAddMemoInstruction } from "@solana-program/memo";
import { beforeAll, describe, expect, it } from "vitest";
import { DepositScanner } from "../../../src/chains/deposit-scanner";
import { PayoutQueue } from "../../../src/chains/payouts";
import { MEMO_PROGRAM_V1, TOKEN_2022_PROGRAM, TOKEN_PROGRAM } from "../../../src/chains/solana/chain";
import { SolanaDepositSource } from "../../../src/chains/solana/deposits";
import { EXTENSION, MintRefused, parseMint, readMint } from "../../../src/chains/solana/mint";
import { SolanaPayoutRail, associatedTokenAccount } from "../../../src/chains/solana/payouts";
import { SolanaRail } from "../../../src/chains/solana/service";
import { newId } from "../../../src/ids";
import { SYSTEM_CHAIN, getBalances, getLedgerBalance, mint as mintLedger } from "../../../src/ledger";
import { describeDb } from "../../support/database";
import { expectLedgerInvariantsHold, useLedgerDatabase } from "../../ledger/support";
import { DECIMALS, type Testbed, createTestbed } from "./testbed";

const FEE = { basisPoints: 100, maximumFee: 1_000n }; // 1 %, at most 1,000 base units a transfer
const budget = { maxMicroLamports: 10_000n, percentile: 75 };

describeDb("solana: Token-2022 mints", () => {
  const db = useLedgerDatabase();
  let bed: Testbed; // a Token-2022 mint without extensions
  let feeBed: Testbed; // a Token-2022 mint with a transfer fee
  const newAccount = async () => (await db().prisma.account.create({ data: { id: newId("acc") } })).id;
  const funded = async (amount: bigint) => {
    const id = await newAccount();
    await db().prisma.$transaction((tx) => mintLedger(tx, id, amount));
    return id;
  };
  const scanner = (b: Testbed) => new DepositScanner(db(), new SolanaDepositSource(b.chain, "localnet", b.depositAccount, TOKEN_2022_PROGRAM), { token: b.mint });
  const deposits = (txId: string) => db().prisma.externalDeposit.findMany({ where: { family: "solana", network: "localnet", txId }, orderBy: { index: "asc" } });

  beforeAll(async () => {
    bed = await createTestbed({ tokenProgram: TOKEN_2022_PROGRAM });
    feeBed = await createTestbed({ tokenProgram: TOKEN_2022_PROGRAM, transferFee: FEE });
  });

  it("reads the mint: its owner picks Token-2022, the deposit account is the Token-2022 associated token account", async () => {
    expect((await bed.chain.account(bed.depositAccount))?.programAddress).toBe(TOKEN_2022_PROGRAM);
    expect(bed.depositAccount).not.toBe(await associatedTokenAccount(bed.depositOwner.address, bed.mint, TOKEN_PROGRAM));
    expect(await readMint(bed.chain, bed.mint)).toEqual({ address: bed.mint, tokenProgram: TOKEN_2022_PROGRAM, decimals: DECIMALS, extensions: [], transferFee: null });
    expect(await readMint(feeBed.chain, feeBed.mint)).toMatchObject({
      tokenProgram: TOKEN_2022_PROGRAM,
      extensions: [EXTENSION.TransferFeeConfig],
      transferFee: { basisPoints: 100, maximumFee: 1_000n },
    });
  });

  it("credits a Token-2022 deposit once, across a restart and a replayed scan", async () => {
    const account = await newAccount();
    const user = await bed.newUser(1_000_000n);
    const sig = await bed.deposit(user, 250_000n, account);
    expect(await scanner(bed).tick()).toMatchObject({ credited: 1, unmatched: 0, duplicate: 0, cursor: sig });
    expect(await scanner(bed).tick()).toMatchObject({ credited: 0, unmatched: 0, duplicate: 0, cursor: sig });
    const replay = scanner(bed);
    await replay.setCursor(null);
    expect(await replay.drain()).toEqual({ credited: 0, unmatched: 0, duplicate: 1, reversed: 0 });
    expect(await deposits(sig)).toMatchObject([{ status: "credited", accountId: account, token: bed.mint, amount: "250000", fromAddress: user.address }]);
    expect((await getBalances(db(), account)).balance).toBe(250_000n);
    await expectLedgerInvariantsHold(db());
  });

  it("credits what a transfer-fee mint's deposit account received, not what was sent", async () => {
    const account = await newAccount();
    const user = await feeBed.newUser(10_000_000n);
    const small = await feeBed.deposit(user, 50_000n, account); // fee 1 % = 500
    const large = await feeBed.deposit(user, 2_000_000n, account); // 1 % = 20,000, capped at 1,000
    expect(await feeBed.balance(feeBed.depositOwner.address)).toBe(49_500n + 1_999_000n);
    expect(await scanner(feeBed).drain()).toEqual({ credited: 2, unmatched: 0, duplicate: 0, reversed: 0 });
    expect(await deposits(small)).toMatchObject([{ status: "credited", amount: "49500" }]);
    expect(await deposits(large)).toMatchObject([{ status: "credited", amount: "1999000" }]);
    expect((await getBalances(db(), account)).balance).toBe(2_048_500n);

    // Token-2022's TransferCheckedWithFee (TransferFeeExtension 26, sub-instruction 1: amount, decimals, the fee the sender expects) is read too.
    const withFeeData = new Uint8Array(19);
    const view = new DataView(withFeeData.buffer);
    withFeeData.set([26, 1]);
    view.setBigUint64(2, 80_000n, true);
    withFeeData[10] = DECIMALS;
    view.setBigUint64(11, 800n, true);
    const userAccount = await associatedTokenAccount(user.address, feeBed.mint, TOKEN_2022_PROGRAM);
    const withFee = await feeBed.send(user, [
      {
        programAddress: address(TOKEN_2022_PROGRAM),
        accounts: [
          { address: userAccount, role: AccountRole.WRITABLE },
          { address: feeBed.mint, role: AccountRole.READONLY },
          { address: feeBed.depositAccount, role: AccountRole.WRITABLE },
          { address: user.address, role: AccountRole.READONLY_SIGNER, signer: user },
        ],
        data: withFeeData,
      } as Instruction,
      { ...getAddMemoInstruction({ memo: account }), programAddress: address(MEMO_PROGRAM_V1) },
    ]);
    expect(await scanner(feeBed).drain()).toEqual({ credited: 1, unmatched: 0, duplicate: 0, reversed: 0 });
    expect(await deposits(withFee)).toMatchObject([{ status: "credited", index: 0, amount: "79200" }]);
    expect((await getBalances(db(), account)).balance).toBe(2_048_500n + 79_200n);

    // Two transfers in one transaction that lost a fee between them cannot be told apart: recorded unmatched, credited nothing.
    const source = await associatedTokenAccount(user.address, feeBed.mint, TOKEN_2022_PROGRAM);
    const transfer = (amount: bigint) =>
      getTransferCheckedInstruction({ source, mint: feeBed.mint, destination: feeBed.depositAccount, authority: user, amount, decimals: DECIMALS }, { programAddress: address(TOKEN_2022_PROGRAM) });
    const both = await feeBed.send(user, [transfer(10_000n), transfer(20_000n), { ...getAddMemoInstruction({ memo: account }), programAddress: address(MEMO_PROGRAM_V1) }]);
    const chainBefore = await getLedgerBalance(db(), SYSTEM_CHAIN);
    expect(await scanner(feeBed).drain()).toEqual({ credited: 0, unmatched: 2, duplicate: 0, reversed: 0 });
    const rows = await deposits(both);
    expect(rows.map((r) => [r.index, r.status, r.amount])).toEqual([
      [0, "unmatched", "10000"],
      [1, "unmatched", "20000"],
    ]);
    expect(rows[0]!.reason).toBe("2 transfers in one transaction sent 30000 but the deposit account received 29700 (a transfer fee): send one transfer per transaction");
    expect(await getLedgerBalance(db(), SYSTEM_CHAIN)).toBe(chainBefore);
    expect((await getBalances(db(), account)).balance).toBe(2_048_500n + 79_200n);
    await expectLedgerInvariantsHold(db());
  });

  it("records a transfer of another token program or another mint unmatched and never credits it", async () => {
    const account = await newAccount();
    const chainBefore = await getLedgerBalance(db(), SYSTEM_CHAIN);
    // Another Token-2022 mint, sent to the deposit owner's account for it and watched with the ledger's rules.
    const otherMint = await bed.newMint({ tokenProgram: TOKEN_2022_PROGRAM });
    const user = await bed.newUser(10_000n, otherMint);
    const otherMintSig = await bed.deposit(user, 7_000n, account, otherMint);
    const otherAccount = await associatedTokenAccount(bed.depositOwner.address, otherMint, TOKEN_2022_PROGRAM);
    const otherMintScan = new DepositScanner(db(), new SolanaDepositSource(bed.chain, "localnet", otherAccount, TOKEN_2022_PROGRAM), { token: bed.mint });
    expect(await otherMintScan.drain()).toEqual({ credited: 0, unmatched: 1, duplicate: 0, reversed: 0 });
    expect(await deposits(otherMintSig)).toMatchObject([{ status: "unmatched", token: otherMint, reason: `token ${otherMint} is not the ledger token ${bed.mint}` }]);

    // The ledger's own mint, but moved by a token program the source does not expect (a source set up for SPL Token
    // reading the Token-2022 account; its own network name keeps its rows and cursor apart): another token.
    const user2 = await bed.newUser(10_000n);
    const wrongProgramSig = await bed.deposit(user2, 3_000n, account);
    const splScan = new DepositScanner(db(), new SolanaDepositSource(bed.chain, "spl-expected", bed.depositAccount, TOKEN_PROGRAM), { token: bed.mint });
    const pass = await splScan.drain();
    expect(pass.credited).toBe(0);
    expect(pass.unmatched).toBeGreaterThanOrEqual(1);
    expect(await db().prisma.externalDeposit.findMany({ where: { network: "spl-expected", txId: wrongProgramSig } })).toMatchObject([
      { status: "unmatched", accountId: null, token: `${bed.mint} (token program ${TOKEN_2022_PROGRAM})` },
    ]);
    expect((await getBalances(db(), account)).balance).toBe(0n);
    expect(await getLedgerBalance(db(), SYSTEM_CHAIN)).toBe(chainBefore);

    // The marketplace's deposit account never saw the other mint; its own scanner credits the Token-2022 deposit, once.
    expect(await scanner(bed).drain()).toEqual({ credited: 1, unmatched: 0, duplicate: 0, reversed: 0 });
    expect(await deposits(wrongProgramSig)).toMatchObject([{ status: "credited", token: bed.mint, amount: "3000" }]);
    expect((await getBalances(db(), account)).balance).toBe(3_000n);
    await expectLedgerInvariantsHold(db());
  });

  it("pays out a Token-2022 mint once (new wallets' Token-2022 accounts created); a transfer-fee mint's recipient gets the amount less the fee", async () => {
    for (const [b, received] of [
      [bed, 4_000n],
      [feeBed, 3_960n],
    ] as const) {
      const account = await funded(10_000n);
      const stranger = (await generateKeyPairSigner()).address;
      const rail = new SolanaPayoutRail(b.chain, "localnet", b.mint, b.settlement, { tokenProgram: TOKEN_2022_PROGRAM, computeBudget: budget });
      const q = new PayoutQueue(db(), rail, { maxBatch: 10 });
      const p = await q.request(account, stranger, 4_000n);
      const floatBefore = await b.balance(b.settlement.address);
      expect(await q.tick()).toMatchObject({ sent: 1 });
      expect(await q.tick()).toMatchObject({ confirmed: 1 });
      expect(await q.tick()).toEqual({ sent: 0, confirmed: 0, failed: 0, expired: 0 });
      expect((await b.chain.account(await associatedTokenAccount(stranger, b.mint, TOKEN_2022_PROGRAM)))?.programAddress).toBe(TOKEN_2022_PROGRAM);
      expect(await b.balance(stranger)).toBe(received);
      expect(floatBefore - (await b.balance(b.settlement.address))).toBe(4_000n);
      expect((await q.get(p.id))?.status).toBe("confirmed");
      expect((await getBalances(db(), account)).balance).toBe(6_000n);
    }
    await expectLedgerInvariantsHold(db());
  });

  it("starts the rail on a Token-2022 mint and refuses mints it cannot use, with the reason", async () => {
    const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
    const cfg = { network: "localnet" as const, rpcUrl: "http://unused", depositOwner: bed.depositOwner.address, settlementKey: undefined, pollMs: 60_000, payoutBatch: 10, computeBudget: budget };
    const rail = await SolanaRail.start(db(), { ...cfg, mint: bed.mint }, log, bed.chain);
    try {
      expect(rail.depositAccount).toBe(bed.depositAccount);
      expect(rail.mint.tokenProgram).toBe(TOKEN_2022_PROGRAM);
    } finally {
      await rail.stop();
    }

    // A non-transferable Token-2022 mint (InitializeNonTransferableMint, 32): nothing could be deposited or paid.
    const nonTransferable = await generateKeyPairSigner();
    const space = 170n; // 165 + account type + an empty NonTransferable TLV entry
    const { getCreateAccountInstruction } = await import("@solana-program/system");
    const { getInitializeMint2Instruction } = await import("@solana-program/token");
    await bed.send(bed.payer, [
      getCreateAccountInstruction({ payer: bed.payer, newAccount: nonTransferable, lamports: bed.chain.svm.minimumBalanceForRentExemption(space), space, programAddress: address(TOKEN_2022_PROGRAM) }),
      { programAddress: address(TOKEN_2022_PROGRAM), accounts: [{ address: nonTransferable.address, role: AccountRole.WRITABLE }], data: new Uint8Array([32]) },
      getInitializeMint2Instruction({ mint: nonTransferable.address, decimals: 6, mintAuthority: bed.payer.address }, { programAddress: address(TOKEN_2022_PROGRAM) }),
    ]);
    await expect(SolanaRail.start(db(), { ...cfg, mint: nonTransferable.address }, log, bed.chain)).rejects.toThrow(
      `SOLANA_MINT ${nonTransferable.address}: a non-transferable Token-2022 mint cannot be deposited or paid out`,
    );
    const nobody = (await generateKeyPairSigner()).address;
    await expect(SolanaRail.start(db(), { ...cfg, mint: nobody }, log, bed.chain)).rejects.toThrow(`SOLANA_MINT ${nobody}: no such account on the cluster`);
    await expect(SolanaRail.start(db(), { ...cfg, mint: bed.depositAccount }, log, bed.chain)).rejects.toThrow(/a token account, not a mint/);
    const wallet = await generateKeyPairSigner();
    bed.chain.svm.airdrop(wallet.address, lamports(1_000_000n));
    await expect(SolanaRail.start(db(), { ...cfg, mint: wallet.address }, log, bed.chain)).rejects.toThrow(/owned by 11111111111111111111111111111111, neither SPL Token nor Token-2022/);
    const down = { ...bed.chain, account: async () => Promise.reject(new Error("connect ECONNREFUSED")) } as unknown as typeof bed.chain;
    await expect(SolanaRail.start(db(), { ...cfg, mint: bed.mint }, log, down)).rejects.toThrow(`solana: could not read SOLANA_MINT ${bed.mint} from SOLANA_RPC_URL: connect ECONNREFUSED`);
  });
});

describe("solana: Token-2022 extensions the rail refuses", () => {
  /** A Token-2022 mint's bytes: an initialized 82-byte base, padding to 165, account type 1, then TLV entries. */
  const mintWith = (...entries: Array<[number, Uint8Array]>) => {
    const tlv = entries.flatMap(([type, value]) => [type & 0xff, type >> 8, value.length & 0xff, value.length >> 8, ...value]);
    const data = new Uint8Array(166 + tlv.length);
    data[44] = 6;
    data[45] = 1;
    data[165] = 1;
    data.set(tlv, 166);
    return data;
  };
  const MINT = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v";

  it("refuses a transfer hook with a program and new accounts that start frozen; takes a hook without a program", () => {
    const hook = new Uint8Array(64);
    hook.set(
      Array.from({ length: 32 }, () => 7),
      32,
    );
    expect(() => parseMint(MINT, TOKEN_2022_PROGRAM, mintWith([EXTENSION.TransferHook, hook]))).toThrow(MintRefused);
    expect(() => parseMint(MINT, TOKEN_2022_PROGRAM, mintWith([EXTENSION.TransferHook, hook]))).toThrow(/its transfers call the hook program \w+, whose extra accounts Stun does not supply/);
    expect(() => parseMint(MINT, TOKEN_2022_PROGRAM, mintWith([EXTENSION.DefaultAccountState, new Uint8Array([2])]))).toThrow(/start frozen/);
    expect(parseMint(MINT, TOKEN_2022_PROGRAM, mintWith([EXTENSION.TransferHook, new Uint8Array(64)], [EXTENSION.DefaultAccountState, new Uint8Array([1])])).extensions).toEqual([
      EXTENSION.TransferHook,
      EXTENSION.DefaultAccountState,
    ]);
    const uninitialized = mintWith();
    uninitialized[45] = 0;
    expect(() => parseMint(MINT, TOKEN_2022_PROGRAM, uninitialized)).toThrow(/not an initialized mint/);
  });
});
