/**
 * Web3 Secret Storage v3 keystores (the JSON files geth, ethers, foundry's `cast wallet` write):
 * settler keys kept encrypted on disk instead of in the environment (CHAIN_SETTLER_KEYSTORE +
 * CHAIN_SETTLER_KEYSTORE_PASSWORD_FILE). Decryption uses node:crypto only — scrypt or
 * PBKDF2-HMAC-SHA256 derives a 32-byte key; keccak256(DK[16..31] ‖ ciphertext) must equal `mac`
 * (a wrong password fails here); AES-128-CTR with DK[0..15] and `iv` gives the private key.
 */
import { createCipheriv, createDecipheriv, pbkdf2Sync, randomBytes, randomUUID, scryptSync, timingSafeEqual } from "node:crypto";
import { type Hex, bytesToHex, hexToBytes, keccak256 } from "viem";
import { privateKeyToAddress } from "viem/accounts";

export interface KeystoreV3 {
  version: 3;
  id?: string;
  address?: string;
  crypto: {
    cipher: string;
    cipherparams: { iv: string };
    ciphertext: string;
    kdf: string;
    kdfparams: Record<string, unknown>;
    mac: string;
  };
}

/** Most work a keystore may ask of the KDF (geth's "standard" scrypt is N = 2¹⁸, r = 8, p = 1: 256 MiB). */
const MAX_SCRYPT_MEMORY = 512 * 1024 * 1024;
const MAX_PBKDF2_ROUNDS = 10_000_000;

const hexBytes = (v: unknown, what: string, length?: number): Buffer => {
  if (typeof v !== "string" || !/^(0x)?([0-9a-fA-F]{2})*$/.test(v)) throw new Error(`${what} is not hex`);
  const b = Buffer.from(v.replace(/^0x/, ""), "hex");
  if (length !== undefined && b.length !== length) throw new Error(`${what} must be ${length} bytes`);
  return b;
};
const positiveInt = (v: unknown, what: string): number => {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v <= 0) throw new Error(`${what} must be a positive integer`);
  return v;
};

function deriveKey(crypto: KeystoreV3["crypto"], password: string): Buffer {
  const p = crypto.kdfparams;
  const dklen = positiveInt(p.dklen, "kdfparams.dklen");
  if (dklen < 32) throw new Error("kdfparams.dklen must be at least 32");
  const salt = hexBytes(p.salt, "kdfparams.salt");
  const pw = Buffer.from(password.normalize("NFKC"), "utf8");
  if (crypto.kdf === "scrypt") {
    const N = positiveInt(p.n, "kdfparams.n");
    const r = positiveInt(p.r, "kdfparams.r");
    const par = positiveInt(p.p, "kdfparams.p");
    // RFC 7914 bounds N below 2^(16·r); OpenSSL enforces it. geth, ethers and cast write r = 8; the
    // specification's own scrypt test vector (N = 2¹⁸, r = 1, p = 8: r and p swapped) is outside it.
    if (Math.log2(N) >= 16 * r) throw new Error(`scrypt n=${N} with r=${r} is outside RFC 7914 (n < 2^(16·r)), which node:crypto refuses; re-encrypt the key (geth, ethers and cast write r=8)`);
    const memory = 128 * N * r + 128 * r * par;
    if (memory > MAX_SCRYPT_MEMORY) throw new Error(`scrypt parameters need ${memory} bytes (more than ${MAX_SCRYPT_MEMORY})`);
    return scryptSync(pw, salt, dklen, { N, r, p: par, maxmem: 2 * memory + 1024 * 1024 });
  }
  if (crypto.kdf === "pbkdf2") {
    if (p.prf !== "hmac-sha256") throw new Error(`unsupported pbkdf2 prf ${String(p.prf)} (only hmac-sha256)`);
    const c = positiveInt(p.c, "kdfparams.c");
    if (c > MAX_PBKDF2_ROUNDS) throw new Error(`pbkdf2 asks for ${c} rounds (more than ${MAX_PBKDF2_ROUNDS})`);
    return pbkdf2Sync(pw, salt, c, dklen, "sha256");
  }
  throw new Error(`unsupported kdf ${String(crypto.kdf)} (scrypt or pbkdf2)`);
}

const macOf = (dk: Buffer, ciphertext: Buffer): Buffer => Buffer.from(hexToBytes(keccak256(Buffer.concat([dk.subarray(16, 32), ciphertext]))));

/**
 * The private key in a v3 keystore. Throws "wrong password" when the MAC does not match, and
 * names the problem when the file is not a v3 keystore Stun can read.
 */
export function decryptKeystore(json: string | KeystoreV3, password: string): Hex {
  let ks: KeystoreV3;
  try {
    ks = typeof json === "string" ? (JSON.parse(json) as KeystoreV3) : json;
  } catch {
    throw new Error("not JSON");
  }
  // geth writes `crypto`, some older tools `Crypto`.
  const crypto = ks?.crypto ?? (ks as unknown as { Crypto?: KeystoreV3["crypto"] })?.Crypto;
  if (ks?.version !== 3 || !crypto) throw new Error("not a version 3 keystore");
  if (crypto.cipher !== "aes-128-ctr") throw new Error(`unsupported cipher ${String(crypto.cipher)} (aes-128-ctr)`);
  const iv = hexBytes(crypto.cipherparams?.iv, "cipherparams.iv", 16);
  const ciphertext = hexBytes(crypto.ciphertext, "ciphertext");
  const mac = hexBytes(crypto.mac, "mac", 32);
  const dk = deriveKey(crypto, password);
  if (!timingSafeEqual(macOf(dk, ciphertext), mac)) throw new Error("wrong password (the keystore's MAC does not match)");
  const decipher = createDecipheriv("aes-128-ctr", dk.subarray(0, 16), iv);
  const key = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  if (key.length !== 32) throw new Error(`the keystore holds ${key.length} bytes, not a 32-byte private key`);
  const hex = bytesToHex(key);
  if (ks.address && privateKeyToAddress(hex).slice(2).toLowerCase() !== ks.address.replace(/^0x/, "").toLowerCase()) {
    throw new Error(`the decrypted key's address is not the keystore's address ${ks.address}`);
  }
  return hex;
}

/**
 * A v3 keystore of `privateKey` (scrypt, aes-128-ctr), as geth writes it. `scrypt` defaults to
 * geth's light parameters (N = 2¹², r = 8, p = 6); tests pass smaller ones.
 */
export function encryptKeystore(privateKey: Hex, password: string, scrypt: { n: number; r: number; p: number } = { n: 4096, r: 8, p: 6 }): KeystoreV3 {
  const salt = randomBytes(32);
  const iv = randomBytes(16);
  const dk = scryptSync(Buffer.from(password.normalize("NFKC"), "utf8"), salt, 32, { N: scrypt.n, r: scrypt.r, p: scrypt.p, maxmem: 128 * scrypt.n * scrypt.r * 2 + 1024 * 1024 });
  const cipher = createCipheriv("aes-128-ctr", dk.subarray(0, 16), iv);
  const ciphertext = Buffer.concat([cipher.update(hexToBytes(privateKey)), cipher.final()]);
  return {
    version: 3,
    id: randomUUID(),
    address: privateKeyToAddress(privateKey).slice(2).toLowerCase(),
    crypto: {
      cipher: "aes-128-ctr",
      cipherparams: { iv: iv.toString("hex") },
      ciphertext: ciphertext.toString("hex"),
      kdf: "scrypt",
      kdfparams: { dklen: 32, n: scrypt.n, r: scrypt.r, p: scrypt.p, salt: salt.toString("hex") },
      mac: macOf(dk, ciphertext).toString("hex"),
    },
  };
}

// The private-file reader lives with the contracts: their deploy script reads its key the same way.
export { readPrivateFile } from "@stun/contracts/private-file";
