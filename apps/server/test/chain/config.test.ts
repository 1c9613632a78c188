/**
 * CHAIN_* configuration (chain/config.ts through env.ts's parseConfig) and the local chain helper's
 * persistence (startLocalChain with a dataDir resumes the same chain and deployment).
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { generatePrivateKey, mnemonicToAccount, privateKeyToAddress } from "viem/accounts";
import type { Address } from "viem";
import { computeMarketplaceAbi, serverEnvFor } from "@stun/contracts";
import { parseConfig } from "../../src/env";
import { startLocalChain } from "../../src/chain";
import { decryptKeystore, encryptKeystore } from "../../src/chain/keystore";

const KEY = `0x${"11".repeat(32)}`;
const KEY2 = `0x${"22".repeat(32)}`;
const MARKET = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const full = {
  CHAIN: "base",
  CHAIN_RPC_URL: "https://rpc.example",
  CHAIN_MARKETPLACE_ADDRESS: MARKET.toLowerCase(),
  CHAIN_TOKEN_ADDRESS: "0x0000000000000000000000000000000000000000",
  CHAIN_SETTLER_KEYS: `${KEY}, ${KEY2}`,
  CHAIN_START_BLOCK: "123",
};

describe("CHAIN_* configuration", () => {
  it("is off without CHAIN", () => {
    expect(parseConfig({}).chain).toBeUndefined();
  });

  it("takes the settings the deploy script prints for a deployment (contracts/scripts/deploy.ts)", () => {
    const record = {
      chain: "base-sepolia" as const,
      marketplace: MARKET as Address,
      depositToken: "0x036CbD53842c5426634e7929541eC2318f3dCF7e" as Address,
      marketplaceBlockNumber: "18000123",
      threshold: 2,
    };
    const c = parseConfig({ ...serverEnvFor(record, "https://sepolia.base.org"), CHAIN_SETTLER_KEYS: `${KEY}, ${KEY2}` }).chain!;
    expect(c).toMatchObject({ name: "base-sepolia", chainId: 84532, marketplace: MARKET, token: record.depositToken, startBlock: 18000123n, threshold: 2, confirmations: 3 });
  });

  it("resolves a chain: id, defaults per chain, checksummed addresses, M of N", () => {
    const c = parseConfig(full).chain!;
    expect(c).toMatchObject({
      name: "base",
      chainId: 8453,
      rpcUrl: "https://rpc.example",
      publicRpcUrl: "https://rpc.example",
      explorerUrl: "https://basescan.org",
      marketplace: MARKET,
      token: "0x0000000000000000000000000000000000000000",
      settlerKeys: [KEY, KEY2],
      threshold: 2,
      submitterKey: KEY,
      confirmations: 12,
      startBlock: 123n,
      batchSize: 20,
    });
    expect(parseConfig({ ...full, CHAIN_SETTLER_THRESHOLD: "1", CHAIN_CONFIRMATIONS: "3", CHAIN_POLL_MS: "250" }).chain).toMatchObject({ threshold: 1, confirmations: 3, pollMs: 250 });
    const ids = Object.fromEntries(
      (["local", "ethereum", "base", "arbitrum", "sepolia", "base-sepolia", "arbitrum-sepolia"] as const).map((name) => [name, parseConfig({ ...full, CHAIN: name }).chain!.chainId]),
    );
    expect(ids).toEqual({ local: 31337, ethereum: 1, base: 8453, arbitrum: 42161, sepolia: 11155111, "base-sepolia": 84532, "arbitrum-sepolia": 421614 });
    const local = parseConfig({ ...full, CHAIN: "local", CHAIN_START_BLOCK: undefined }).chain!;
    expect(local).toMatchObject({ confirmations: 1, startBlock: 0n, explorerUrl: undefined });
  });

  it("says what is missing or wrong", () => {
    expect(() => parseConfig({ CHAIN: "base" })).toThrow(
      /CHAIN_RPC_URL: required[\s\S]*CHAIN_MARKETPLACE_ADDRESS: required[\s\S]*CHAIN_TOKEN_ADDRESS: required[\s\S]*CHAIN_SETTLER_KEYS: required[\s\S]*CHAIN_START_BLOCK: required on base/,
    );
    expect(() => parseConfig({ ...full, CHAIN: "mainnet" })).toThrow(/CHAIN/);
    expect(() => parseConfig({ ...full, CHAIN_MARKETPLACE_ADDRESS: "0x1234" })).toThrow(/CHAIN_MARKETPLACE_ADDRESS: must be a 0x-prefixed 20-byte address/);
    expect(() => parseConfig({ ...full, CHAIN_SETTLER_KEYS: "0x12" })).toThrow(/CHAIN_SETTLER_KEYS: key 1 is not 0x \+ 64 hex digits/);
    expect(() => parseConfig({ ...full, CHAIN_SETTLER_KEYS: `${KEY},${KEY}` })).toThrow(/the same key twice/);
    expect(() => parseConfig({ ...full, CHAIN_SETTLER_THRESHOLD: "3" })).toThrow(/CHAIN_SETTLER_THRESHOLD: 3 signatures asked for but only 2/);
  });
});

describe("STUN_MODE=production refuses development chains and keys", () => {
  // anvil's first account, as every anvil/hardhat prints it (pasted here to check the derivation).
  const ANVIL_KEY_0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
  const prod = { ...full, STUN_MODE: "production" };

  it("refuses CHAIN=local", () => {
    expect(privateKeyToAddress(mnemonicKey(0)).toLowerCase()).toBe(privateKeyToAddress(ANVIL_KEY_0).toLowerCase());
    expect(() => parseConfig({ ...prod, CHAIN: "local", CHAIN_START_BLOCK: undefined })).toThrow(/CHAIN: local \(anvil\) is for development; STUN_MODE=production needs a real chain/);
    expect(parseConfig({ ...full, CHAIN: "local" }).chain?.name).toBe("local");
  });

  it("refuses any of the ten 'test … junk' accounts as a settler or submitter key (local mode takes them)", () => {
    expect(() => parseConfig({ ...prod, CHAIN_SETTLER_KEYS: `${KEY},${ANVIL_KEY_0}` })).toThrow(
      new RegExp(`CHAIN_SETTLER_KEYS: settler ${privateKeyToAddress(ANVIL_KEY_0)} is one of anvil's/hardhat's public development accounts`),
    );
    expect(() => parseConfig({ ...prod, CHAIN_SETTLER_KEYS: mnemonicKey(9) })).toThrow(new RegExp(privateKeyToAddress(mnemonicKey(9))));
    expect(() => parseConfig({ ...prod, CHAIN_SUBMITTER_KEY: ANVIL_KEY_0 })).toThrow(/CHAIN_SUBMITTER_KEY: one of anvil's\/hardhat's public development keys/);
    // The eleventh account is not one anvil funds: not refused; nor is a key of one's own.
    const own = generatePrivateKey();
    expect(parseConfig({ ...prod, CHAIN_SETTLER_KEYS: `${own},${mnemonicKey(10)}` }).chain?.settlerKeys).toEqual([own, mnemonicKey(10)]);
    // Local mode (the default) accepts them: that is what they are for.
    expect(parseConfig({ ...full, CHAIN_SETTLER_KEYS: ANVIL_KEY_0 }).chain?.settlerKeys).toEqual([ANVIL_KEY_0]);
  });
});

describe("CHAIN_SETTLER_KEYSTORE (Web3 Secret Storage v3)", () => {
  const withDir = (fn: (dir: string) => void) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "stun-keystore-"));
    try {
      fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const writeSecret = (file: string, text: string, mode = 0o600) => {
    writeFileSync(file, text);
    chmodSync(file, mode);
    return file;
  };
  // The spec's two test vectors (ethereum.org → Web3 secret storage definition → Test vectors):
  // password "testpassword", secret 7a28…fe9d, address 008a…786b.
  const SECRET = "0x7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d";
  const PBKDF2_VECTOR = {
    crypto: {
      cipher: "aes-128-ctr",
      cipherparams: { iv: "6087dab2f9fdbbfaddc31a909735c1e6" },
      ciphertext: "5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46",
      kdf: "pbkdf2",
      kdfparams: { c: 262144, dklen: 32, prf: "hmac-sha256", salt: "ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd" },
      mac: "517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2",
    },
    id: "3198bc9c-6672-5ab3-d995-4942343ae5b6",
    version: 3,
  } as const;
  const SCRYPT_VECTOR = {
    crypto: {
      cipher: "aes-128-ctr",
      cipherparams: { iv: "83dbcc02d8ccb40e466191a123791e0e" },
      ciphertext: "d172bf743a674da9cdad04534d56926ef8358534d458fffccd4e6ad2fbde479c",
      kdf: "scrypt",
      kdfparams: { dklen: 32, n: 262144, p: 8, r: 1, salt: "ab0c7876052600dd703518d6fc3fe8984592145b591fc8fb5c6d43190334ba19" },
      mac: "2103ac29920d71da29f15d75b4a16dbe95cfd7ff8faea1056c33131d846e3097",
    },
    id: "3198bc9c-6672-5ab3-d995-4942343ae5b6",
    version: 3,
  } as const;

  it("decrypts the specification's PBKDF2 test vector and an ethers-written scrypt keystore; refuses a wrong password", async () => {
    expect(decryptKeystore(JSON.stringify(PBKDF2_VECTOR), "testpassword")).toBe(SECRET);
    expect(privateKeyToAddress(SECRET).toLowerCase()).toBe("0x008aeeda4d805471df9b2a5b0f38a0c3bcba786b");
    // The spec's scrypt vector has r = 1 with N = 2¹⁸, outside RFC 7914, which node's OpenSSL
    // refuses: a clear message, not a wrong key. Real tools write r = 8; ethers 5 (in node_modules
    // through circomlibjs) is an independent implementation that writes one.
    expect(() => decryptKeystore(SCRYPT_VECTOR, "testpassword")).toThrow(/scrypt n=262144 with r=1 is outside RFC 7914/);
    const { Wallet } = await import("ethers");
    const fromEthers = await new Wallet(SECRET).encrypt("testpassword", { scrypt: { N: 4096 } });
    expect(JSON.parse(fromEthers).crypto).toMatchObject({ kdf: "scrypt", kdfparams: { n: 4096, r: 8, p: 1 } });
    expect(decryptKeystore(fromEthers, "testpassword")).toBe(SECRET);
    expect(() => decryptKeystore(fromEthers, "testpassworD")).toThrow(/wrong password/);
    expect(() => decryptKeystore(PBKDF2_VECTOR, "testpassworD")).toThrow(/wrong password/);
    const tampered = { ...PBKDF2_VECTOR, crypto: { ...PBKDF2_VECTOR.crypto, ciphertext: `6${PBKDF2_VECTOR.crypto.ciphertext.slice(1)}` } };
    expect(() => decryptKeystore(tampered, "testpassword")).toThrow(/wrong password/);
  });

  it("loads settler keys from keystores with a 0600 password file, after CHAIN_SETTLER_KEYS", () =>
    withDir((dir) => {
      const a = generatePrivateKey();
      const b = generatePrivateKey();
      const ksA = writeSecret(path.join(dir, "a.json"), JSON.stringify(encryptKeystore(a, "correct horse", { n: 1024, r: 8, p: 1 })));
      const ksB = writeSecret(path.join(dir, "b.json"), JSON.stringify(encryptKeystore(b, "correct horse", { n: 1024, r: 8, p: 1 })));
      const pw = writeSecret(path.join(dir, "password"), "correct horse\n");
      const onlyKeystores = { ...full, CHAIN_SETTLER_KEYS: undefined, CHAIN_SETTLER_KEYSTORE: `${ksA}, ${ksB}`, CHAIN_SETTLER_KEYSTORE_PASSWORD_FILE: pw };
      expect(parseConfig(onlyKeystores).chain).toMatchObject({ settlerKeys: [a, b], threshold: 2, submitterKey: a });
      expect(parseConfig({ ...onlyKeystores, CHAIN_SETTLER_KEYS: KEY, CHAIN_SETTLER_KEYSTORE: ksB, STUN_MODE: "production" }).chain).toMatchObject({ settlerKeys: [KEY, b] });
      // The spec's vector as a file: a keystore geth/ethers wrote decrypts the same way.
      const vector = writeSecret(path.join(dir, "vector.json"), JSON.stringify(PBKDF2_VECTOR));
      const vectorPw = writeSecret(path.join(dir, "vector-password"), "testpassword");
      expect(parseConfig({ ...onlyKeystores, CHAIN_SETTLER_KEYSTORE: vector, CHAIN_SETTLER_KEYSTORE_PASSWORD_FILE: vectorPw }).chain?.settlerKeys).toEqual([SECRET]);

      // Wrong password, a password file others can read, no password file, a missing keystore.
      const wrong = writeSecret(path.join(dir, "wrong"), "correct horse battery");
      expect(() => parseConfig({ ...onlyKeystores, CHAIN_SETTLER_KEYSTORE_PASSWORD_FILE: wrong })).toThrow(new RegExp(`CHAIN_SETTLER_KEYSTORE: ${ksA}: wrong password`));
      const open = writeSecret(path.join(dir, "open"), "correct horse", 0o644);
      expect(() => parseConfig({ ...onlyKeystores, CHAIN_SETTLER_KEYSTORE_PASSWORD_FILE: open })).toThrow(
        /CHAIN_SETTLER_KEYSTORE_PASSWORD_FILE: .*open is readable or writable by others \(mode 644\); chmod 600 it/,
      );
      expect(() => parseConfig({ ...onlyKeystores, CHAIN_SETTLER_KEYSTORE_PASSWORD_FILE: undefined })).toThrow(/CHAIN_SETTLER_KEYSTORE_PASSWORD_FILE: required with CHAIN_SETTLER_KEYSTORE/);
      expect(() => parseConfig({ ...onlyKeystores, CHAIN_SETTLER_KEYSTORE: path.join(dir, "nope.json") })).toThrow(/nope\.json: no such file/);
      // The same key twice (plain and in a keystore) and a development key in a keystore.
      expect(() => parseConfig({ ...onlyKeystores, CHAIN_SETTLER_KEYS: a })).toThrow(/the same key twice/);
      const anvil0 = writeSecret(path.join(dir, "anvil0.json"), JSON.stringify(encryptKeystore(mnemonicKey(0), "correct horse", { n: 1024, r: 8, p: 1 })));
      expect(() => parseConfig({ ...onlyKeystores, CHAIN_SETTLER_KEYSTORE: anvil0, STUN_MODE: "production" })).toThrow(/public development accounts/);
    }));
});

function mnemonicKey(index: number): `0x${string}` {
  const key = mnemonicToAccount("test test test test test test test test test test test junk", { addressIndex: index }).getHdKey().privateKey!;
  return `0x${Buffer.from(key).toString("hex")}`;
}

describe("startLocalChain", () => {
  it("deploys a chain with funded demo wallets and, with a dataDir, resumes it on the next start", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "stun-chain-"));
    try {
      const first = await startLocalChain({ dataDir: dir, demoAccounts: 2 });
      expect(first.env).toMatchObject({ CHAIN: "local", CHAIN_MARKETPLACE_ADDRESS: first.addresses.marketplace, CHAIN_TOKEN_ADDRESS: first.addresses.token, CHAIN_SETTLER_KEYS: first.settlerKey });
      expect(parseConfig(first.env).chain).toMatchObject({ chainId: 31337, startBlock: first.deployBlock });
      // Its settler is one of anvil's funded accounts: a production server refuses it, even on another chain.
      expect(() => parseConfig({ ...first.env, STUN_MODE: "production" })).toThrow(/CHAIN: local[\s\S]*public development accounts/);
      expect(() => parseConfig({ ...full, CHAIN_SETTLER_KEYS: first.settlerKey, STUN_MODE: "production" })).toThrow(/public development accounts/);
      expect(first.demoAccounts).toHaveLength(2);
      const isSettler = await first.anvil.publicClient.readContract({ address: first.addresses.marketplace, abi: computeMarketplaceAbi, functionName: "settlers" });
      expect(isSettler).toHaveLength(1);
      const head = await first.anvil.publicClient.getBlockNumber();
      await first.stop();

      const second = await startLocalChain({ dataDir: dir, demoAccounts: 2 });
      try {
        expect(second.addresses).toEqual(first.addresses);
        expect(second.deployBlock).toBe(first.deployBlock);
        expect(await second.anvil.publicClient.getBlockNumber()).toBeGreaterThanOrEqual(head);
        expect(
          await second.anvil.publicClient.readContract({ address: second.addresses.marketplace, abi: computeMarketplaceAbi, functionName: "isTokenAllowed", args: [second.addresses.token] }),
        ).toBe(true);
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
