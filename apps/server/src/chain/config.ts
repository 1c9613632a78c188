/**
 * The chain adapter's configuration: the CHAIN_* variables (parsed by env.ts's one zod schema) and
 * the chain presets they name. Unset CHAIN turns the adapter off: no RPC, no watcher, no on-chain
 * settlement; every ledger movement stays off chain as before.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { type Address, type Hex, getAddress, isAddress } from "viem";
import { mnemonicToAccount, privateKeyToAddress } from "viem/accounts";
import { ANVIL_MNEMONIC } from "@stun/contracts/anvil";
import { decryptKeystore, readPrivateFile } from "./keystore";

// The chains Stun can settle on live with the contracts (their deploy script needs them too).
export { CHAIN_NAMES, CHAIN_PRESETS, type ChainName } from "@stun/contracts/chains";
import { CHAIN_NAMES, CHAIN_PRESETS, type ChainName } from "@stun/contracts/chains";

const address = z.string().refine((v) => isAddress(v, { strict: false }), "must be a 0x-prefixed 20-byte address");
const privateKey = /^0x[0-9a-fA-F]{64}$/;

/** The CHAIN_* variables (spread into env.ts's EnvSchema). */
export const chainEnvShape = {
  /** Settle on this chain; unset: no chain (the default). */
  CHAIN: z.enum(CHAIN_NAMES).optional(),
  /** JSON-RPC endpoint the server reads and sends through. */
  CHAIN_RPC_URL: z.string().url().optional(),
  /** The RPC URL browsers are told to use (GET /api/v1/chain); default CHAIN_RPC_URL. */
  CHAIN_PUBLIC_RPC_URL: z.string().url().optional(),
  /** Block explorer base URL; default the chain's well-known one (none for local). */
  CHAIN_EXPLORER_URL: z.string().url().optional(),
  CHAIN_MARKETPLACE_ADDRESS: address.optional(),
  /** The token whose deposits are credited to the ledger, base unit for base unit (0x000…0: native ETH). */
  CHAIN_TOKEN_ADDRESS: address.optional(),
  /** Comma-separated settler private keys (0x + 64 hex) this server signs with. */
  CHAIN_SETTLER_KEYS: z.string().optional(),
  /**
   * Comma-separated paths of Web3 Secret Storage v3 keystores (geth/ethers/`cast wallet` JSON)
   * holding settler keys, used after any CHAIN_SETTLER_KEYS; needs CHAIN_SETTLER_KEYSTORE_PASSWORD_FILE.
   */
  CHAIN_SETTLER_KEYSTORE: z.string().optional(),
  /** A file (mode 0600, else refused) whose content (one trailing newline dropped) decrypts every CHAIN_SETTLER_KEYSTORE. */
  CHAIN_SETTLER_KEYSTORE_PASSWORD_FILE: z.string().optional(),
  /** How many of them sign each settlement (M); default all of them. */
  CHAIN_SETTLER_THRESHOLD: z.coerce.number().int().min(1).optional(),
  /** Pays the gas of the server's transactions; default the first settler key. */
  CHAIN_SUBMITTER_KEY: z.string().regex(privateKey, "must be 0x + 64 hex digits").optional(),
  /** Blocks a deposit needs (its own included) before it is credited; default per chain (1 local, 12 mainnets, 3 testnets). */
  CHAIN_CONFIRMATIONS: z.coerce.number().int().min(1).max(1000).optional(),
  /** How often the watcher and the submitter run. */
  CHAIN_POLL_MS: z.coerce.number().int().min(50).optional(),
  /** First block scanned for deposits (the marketplace's deployment block); required except on local (default 0). */
  CHAIN_START_BLOCK: z.coerce.bigint().nonnegative().optional(),
  /**
   * Seconds a signed withdrawal order stays executable (its on-chain deadline, from when it is
   * signed). Past it in a final block with the nonce unused, that order can never pay: a new one
   * (same nonce) is signed when its transaction never landed, the debit reversed when it reverted.
   */
  CHAIN_WITHDRAWAL_TTL_S: z.coerce
    .number()
    .int()
    .min(60)
    .max(30 * 86_400)
    .default(3_600),
  /** How long a slash's transaction may go without a receipt before it is checked and sent again (default 3 min). */
  CHAIN_TX_TIMEOUT_MS: z.coerce.number().int().min(1).default(180_000),
  /** How often the ledger and the chain are compared (chain/conservation.ts, stake-conservation.ts; GET /chain/conservation, metrics); 0: only when asked. */
  CHAIN_CONSERVATION_MS: z.coerce.number().int().min(0).default(300_000),
  /** Most tasks per settleFromDeposits transaction. */
  CHAIN_BATCH_SIZE: z.coerce.number().int().min(1).max(200).default(20),
  /** Most blocks per eth_getLogs request. */
  CHAIN_LOG_RANGE: z.coerce.number().int().min(1).max(100_000).default(2_000),
};

export interface ChainConfig {
  name: ChainName;
  chainId: number;
  label: string;
  rpcUrl: string;
  publicRpcUrl: string;
  explorerUrl: string | undefined;
  marketplace: Address;
  /** Checksummed; the zero address is native ETH. */
  token: Address;
  settlerKeys: Hex[];
  threshold: number;
  submitterKey: Hex;
  confirmations: number;
  pollMs: number;
  startBlock: bigint;
  batchSize: number;
  logRange: bigint;
  withdrawalTtlS: number;
  txTimeoutMs: number;
  /** Milliseconds between conservation checks (0: only when asked). */
  conservationMs: number;
}

type ChainEnv = z.infer<z.ZodObject<typeof chainEnvShape>>;

/**
 * The development mnemonic of anvil and hardhat (ANVIL_MNEMONIC, "test test … junk"): its first ten accounts are
 * the funded, unlocked accounts every local node starts with, and their private keys are public.
 * Derived once, on first use (production mode only).
 */
let devAddresses: Set<string> | undefined;
export function isWellKnownDevKey(key: Hex): boolean {
  devAddresses ??= new Set(Array.from({ length: 10 }, (_, i) => mnemonicToAccount(ANVIL_MNEMONIC, { addressIndex: i }).address.toLowerCase()));
  return devAddresses.has(privateKeyToAddress(key).toLowerCase());
}

/** Settler keys from CHAIN_SETTLER_KEYSTORE, decrypted with the password file; problems go to `issues`. */
function keystoreKeys(env: ChainEnv, issues: string[]): string[] {
  if (!env.CHAIN_SETTLER_KEYSTORE) {
    if (env.CHAIN_SETTLER_KEYSTORE_PASSWORD_FILE) issues.push("CHAIN_SETTLER_KEYSTORE_PASSWORD_FILE: set without CHAIN_SETTLER_KEYSTORE");
    return [];
  }
  if (!env.CHAIN_SETTLER_KEYSTORE_PASSWORD_FILE) {
    issues.push("CHAIN_SETTLER_KEYSTORE_PASSWORD_FILE: required with CHAIN_SETTLER_KEYSTORE (the password is read from a file, never from the environment)");
    return [];
  }
  let password: string;
  try {
    password = readPrivateFile(env.CHAIN_SETTLER_KEYSTORE_PASSWORD_FILE);
  } catch (e) {
    issues.push(`CHAIN_SETTLER_KEYSTORE_PASSWORD_FILE: ${(e as Error).message}`);
    return [];
  }
  const keys: string[] = [];
  for (const file of env.CHAIN_SETTLER_KEYSTORE.split(",")
    .map((f) => f.trim())
    .filter((f) => f !== "")) {
    try {
      keys.push(decryptKeystore(readFileSync(file, "utf8"), password));
    } catch (e) {
      issues.push(`CHAIN_SETTLER_KEYSTORE: ${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`);
    }
  }
  return keys;
}

/**
 * The adapter's configuration, or undefined when CHAIN is unset. Returns the problems (one line
 * each, `VARIABLE: message`) instead when a required variable is missing or the values disagree.
 */
export function resolveChainConfig(env: ChainEnv, opts: { production?: boolean } = {}): { chain: ChainConfig | undefined; issues: string[] } {
  if (!env.CHAIN) return { chain: undefined, issues: [] };
  const preset = CHAIN_PRESETS[env.CHAIN];
  const issues: string[] = [];
  const need = <T>(key: keyof ChainEnv, value: T | undefined): T | undefined => {
    if (value === undefined || value === "") issues.push(`${key}: required when CHAIN is set`);
    return value;
  };
  const rpcUrl = need("CHAIN_RPC_URL", env.CHAIN_RPC_URL);
  const marketplace = need("CHAIN_MARKETPLACE_ADDRESS", env.CHAIN_MARKETPLACE_ADDRESS);
  const token = need("CHAIN_TOKEN_ADDRESS", env.CHAIN_TOKEN_ADDRESS);
  const plain = (env.CHAIN_SETTLER_KEYSTORE ? (env.CHAIN_SETTLER_KEYS ?? "") : (need("CHAIN_SETTLER_KEYS", env.CHAIN_SETTLER_KEYS) ?? ""))
    .split(",")
    .map((k) => k.trim())
    .filter((k) => k !== "");
  if (env.CHAIN_SETTLER_KEYS !== undefined && plain.length === 0 && !env.CHAIN_SETTLER_KEYSTORE) issues.push("CHAIN_SETTLER_KEYS: no key given");
  const bad = plain.findIndex((k) => !privateKey.test(k));
  if (bad !== -1) issues.push(`CHAIN_SETTLER_KEYS: key ${bad + 1} is not 0x + 64 hex digits`);
  const keys = [...plain, ...keystoreKeys(env, issues)];
  if (new Set(keys.map((k) => k.toLowerCase())).size !== keys.length) issues.push("CHAIN_SETTLER_KEYS: the same key twice");
  const threshold = env.CHAIN_SETTLER_THRESHOLD ?? keys.length;
  if (keys.length > 0 && threshold > keys.length) {
    issues.push(`CHAIN_SETTLER_THRESHOLD: ${threshold} signatures asked for but only ${keys.length} settler keys given`);
  }
  let startBlock = env.CHAIN_START_BLOCK;
  if (startBlock === undefined) {
    if (env.CHAIN === "local") startBlock = 0n;
    else issues.push(`CHAIN_START_BLOCK: required on ${env.CHAIN} (the marketplace's deployment block, where the deposit scan starts)`);
  }
  if (opts.production) {
    // A production server must never settle with keys anyone can sign with, nor on a throwaway chain.
    if (env.CHAIN === "local") issues.push("CHAIN: local (anvil) is for development; STUN_MODE=production needs a real chain");
    const devKey = (k: string) => privateKey.test(k) && isWellKnownDevKey(k as Hex);
    const dev = keys.filter(devKey).map((k) => privateKeyToAddress(k as Hex));
    if (dev.length > 0) issues.push(`CHAIN_SETTLER_KEYS: settler ${dev.join(", ")} is one of anvil's/hardhat's public development accounts ("test test … junk"); STUN_MODE=production refuses it`);
    if (env.CHAIN_SUBMITTER_KEY && devKey(env.CHAIN_SUBMITTER_KEY)) issues.push("CHAIN_SUBMITTER_KEY: one of anvil's/hardhat's public development keys; STUN_MODE=production refuses it");
  }
  if (issues.length > 0 || !rpcUrl || !marketplace || !token || startBlock === undefined) return { chain: undefined, issues };
  return {
    chain: {
      name: env.CHAIN,
      chainId: preset.id,
      label: preset.label,
      rpcUrl,
      publicRpcUrl: env.CHAIN_PUBLIC_RPC_URL ?? rpcUrl,
      explorerUrl: env.CHAIN_EXPLORER_URL ?? preset.explorerUrl,
      marketplace: getAddress(marketplace),
      token: getAddress(token),
      settlerKeys: keys as Hex[],
      threshold,
      submitterKey: (env.CHAIN_SUBMITTER_KEY ?? keys[0]) as Hex,
      confirmations: env.CHAIN_CONFIRMATIONS ?? preset.confirmations,
      pollMs: env.CHAIN_POLL_MS ?? (env.CHAIN === "local" ? 500 : 4_000),
      startBlock,
      batchSize: env.CHAIN_BATCH_SIZE,
      logRange: BigInt(env.CHAIN_LOG_RANGE),
      withdrawalTtlS: env.CHAIN_WITHDRAWAL_TTL_S,
      txTimeoutMs: env.CHAIN_TX_TIMEOUT_MS,
      conservationMs: env.CHAIN_CONSERVATION_MS,
    },
    issues: [],
  };
}
