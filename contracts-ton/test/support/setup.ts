/**
 * A sandbox world for the marketplace: two test jettons (USDT-like "accepted" and "other"), the
 * marketplace with a 2-of-3 settler set and its accepted-jetton wallet set, and users holding
 * jettons. Shared by the tests and bench/fees.ts.
 */
import { Blockchain, type BlockchainTransaction, type SandboxContract, type TreasuryContract } from "@ton/sandbox";
import { type Address, type Cell, toNano } from "@ton/core";
import { type KeyPair, keyPairFromSeed } from "@ton/crypto";
import { compileContract } from "../../src-ts/compile";
import { Marketplace } from "../../src-ts/marketplace";
import { TestJettonMinter, TestJettonWallet } from "../../src-ts/test-jetton";

export interface World {
  blockchain: Blockchain;
  admin: SandboxContract<TreasuryContract>;
  relayer: SandboxContract<TreasuryContract>;
  alice: SandboxContract<TreasuryContract>;
  settlers: KeyPair[];
  outsider: KeyPair;
  usdt: SandboxContract<TestJettonMinter>;
  other: SandboxContract<TestJettonMinter>;
  marketplace: SandboxContract<Marketplace>;
  marketplaceCode: Cell;
  /** The jetton wallet of `owner` for `minter`. */
  wallet(minter: SandboxContract<TestJettonMinter>, owner: Address): Promise<SandboxContract<TestJettonWallet>>;
}

/** 1.0 of a 6-decimals jetton. */
export const ONE = 1_000_000n;
export const NOW = 1_790_000_000;

function keyFromLabel(label: string): KeyPair {
  return keyPairFromSeed(Buffer.alloc(32, label));
}

export async function createWorld(): Promise<World> {
  const [marketplaceCode, walletCode, minterCode] = await Promise.all([compileContract("marketplace"), compileContract("test-jetton-wallet"), compileContract("test-jetton-minter")]);
  const blockchain = await Blockchain.create();
  blockchain.now = NOW;
  const admin = await blockchain.treasury("admin");
  const relayer = await blockchain.treasury("relayer");
  const alice = await blockchain.treasury("alice");
  const settlers = ["settler-a", "settler-b", "settler-c"].map(keyFromLabel);
  const outsider = keyFromLabel("outsider");

  const usdt = blockchain.openContract(TestJettonMinter.create(admin.address, walletCode, minterCode));
  const other = blockchain.openContract(
    TestJettonMinter.create(alice.address, walletCode, minterCode), // another admin: another address
  );
  await usdt.sendDeploy(admin.getSender(), toNano("0.1"));
  await other.sendDeploy(alice.getSender(), toNano("0.1"));

  const marketplace = blockchain.openContract(Marketplace.createFromConfig({ admin: admin.address, settlers: settlers.map((k) => k.publicKey), threshold: 2 }, marketplaceCode));
  await marketplace.sendDeploy(admin.getSender(), toNano("0.5"));
  await marketplace.sendSetJettonWallet(admin.getSender(), await usdt.getWalletAddress(marketplace.address));

  await usdt.sendMint(admin.getSender(), { to: alice.address, amount: 1_000n * ONE });
  await other.sendMint(alice.getSender(), { to: alice.address, amount: 1_000n * ONE });

  return {
    blockchain,
    admin,
    relayer,
    alice,
    settlers,
    outsider,
    usdt,
    other,
    marketplace,
    marketplaceCode,
    wallet: async (minter, owner) => blockchain.openContract(new TestJettonWallet(await minter.getWalletAddress(owner))),
  };
}

/** The transaction `address` ran for an internal message carrying `op` (the last one). */
export function txOf(transactions: BlockchainTransaction[], address: Address, op?: number): BlockchainTransaction {
  const found = transactions.filter((tx) => {
    const msg = tx.inMessage;
    if (msg?.info.type !== "internal" || !msg.info.dest.equals(address)) return false;
    if (op === undefined) return true;
    const body = msg.body.beginParse();
    return body.remainingBits >= 32 && body.preloadUint(32) === op;
  });
  const tx = found.at(-1);
  if (!tx) throw new Error(`no transaction on ${address.toString()}${op === undefined ? "" : ` for op 0x${op.toString(16)}`}`);
  return tx;
}

/** The compute phase's exit code (undefined when it was skipped) and gas of a transaction. */
export function computeOf(tx: BlockchainTransaction): { exitCode?: number; gasUsed: bigint; success: boolean } {
  const d = tx.description;
  if (d.type !== "generic" || d.computePhase.type !== "vm") return { gasUsed: 0n, success: false };
  return { exitCode: d.computePhase.exitCode, gasUsed: d.computePhase.gasUsed, success: d.computePhase.success };
}
