/**
 * The TON rail's configuration: the TON_* variables (spread into env.ts's one zod schema). Unset
 * TON_API_URL turns it off. The server reads the marketplace contract (contracts-ton) through a
 * toncenter-compatible HTTP API; with TON_WALLET_KEY and TON_SETTLER_KEYS it also pays out
 * (M-of-N settler-signed `payout` orders relayed by the hot wallet: docs/CHAIN.md "TON").
 */
import { Address } from "@ton/core";
import { z } from "zod";
import { readSecretJson } from "../secret-file";

export const TON_NETWORKS = ["mainnet", "testnet"] as const;

const tonAddress = z.string().refine((v) => Address.isFriendly(v) || Address.isRaw(v), "must be a TON address (raw 0:… or user-friendly)");

export const tonEnvShape = {
  /** A toncenter-compatible API root (v3), e.g. https://testnet.toncenter.com; unset: TON is off. */
  TON_API_URL: z.string().url().optional(),
  /** Sent as X-API-Key (toncenter's rate limits are per key). */
  TON_API_KEY: z.string().min(1).optional(),
  TON_NETWORK: z.enum(TON_NETWORKS).optional(),
  /** The marketplace contract (contracts-ton) whose Deposited log is credited. */
  TON_MARKETPLACE: tonAddress.optional(),
  /** The jetton master it accepts (e.g. USDT's), credited base unit for base unit. */
  TON_JETTON_MASTER: tonAddress.optional(),
  TON_POLL_MS: z.coerce.number().int().min(100).default(5_000),
  /** A file (mode 0600) holding the hot wallet's (WalletContractV4) ed25519 key: a JSON string of hex (64-byte secret key or 32-byte seed). */
  TON_WALLET_KEY: z.string().min(1).optional(),
  /** A file (mode 0600) holding settler ed25519 keys: a JSON array of hex (64-byte secret keys or 32-byte seeds), at least the contract's threshold. */
  TON_SETTLER_KEYS: z.string().min(1).optional(),
  /** Most payout lines per order (the contract takes at most 100). */
  TON_PAYOUT_BATCH: z.coerce.number().int().min(1).max(100).default(50),
  /** Seconds a payout order may land (its deadline and the wallet message's valid_until). */
  TON_PAYOUT_LIFETIME_S: z.coerce.number().int().min(60).max(86_400).default(600),
};

type ParsedTonEnv = z.infer<z.ZodObject<typeof tonEnvShape>>;
/** The parsed variables; the payout tuning ones may be left out (their defaults apply). */
type TonEnv = Omit<ParsedTonEnv, "TON_PAYOUT_BATCH" | "TON_PAYOUT_LIFETIME_S"> & Partial<Pick<ParsedTonEnv, "TON_PAYOUT_BATCH" | "TON_PAYOUT_LIFETIME_S">>;

export interface TonConfig {
  network: (typeof TON_NETWORKS)[number];
  apiUrl: string;
  apiKey: string | undefined;
  /** Raw form (0:…), as deposits are recorded. */
  marketplace: string;
  jettonMaster: string;
  pollMs: number;
  /** Set with TON_WALLET_KEY and TON_SETTLER_KEYS: the server pays out. */
  payouts?: { walletKey: Uint8Array; settlerKeys: Uint8Array[]; batch: number; lifetimeS: number };
}

const hexKey = (v: unknown): Uint8Array => {
  if (typeof v !== "string" || !/^(?:[0-9a-fA-F]{64}|[0-9a-fA-F]{128})$/.test(v)) throw new Error("a key is hex of 32 (seed) or 64 (secret key) bytes");
  return Uint8Array.from(Buffer.from(v, "hex"));
};

/** TON_WALLET_KEY's file: a JSON string of hex. */
export function readTonWalletKey(file: string): Uint8Array {
  return hexKey(readSecretJson(file));
}

/** TON_SETTLER_KEYS's file: a non-empty JSON array of hex keys, no key twice. */
export function readTonSettlerKeys(file: string): Uint8Array[] {
  const list = readSecretJson(file);
  if (!Array.isArray(list) || list.length === 0) throw new Error("not a non-empty JSON array of hex keys");
  const keys = list.map(hexKey);
  if (new Set(list.map((k) => String(k).toLowerCase())).size !== keys.length) throw new Error("a key is listed twice");
  return keys;
}

/** The TON configuration, or undefined when TON_API_URL is unset; problems one line each. */
export function resolveTonConfig(env: TonEnv): { ton: TonConfig | undefined; issues: string[] } {
  if (!env.TON_API_URL) {
    const stray = (["TON_NETWORK", "TON_MARKETPLACE", "TON_JETTON_MASTER", "TON_API_KEY", "TON_WALLET_KEY", "TON_SETTLER_KEYS"] as const).filter((k) => env[k] !== undefined);
    return { ton: undefined, issues: stray.map((k) => `${k}: set without TON_API_URL`) };
  }
  const issues = (["TON_NETWORK", "TON_MARKETPLACE", "TON_JETTON_MASTER"] as const).filter((k) => env[k] === undefined).map((k) => `${k}: required when TON_API_URL is set`);
  let payouts: TonConfig["payouts"];
  if ((env.TON_WALLET_KEY === undefined) !== (env.TON_SETTLER_KEYS === undefined)) {
    issues.push(env.TON_WALLET_KEY === undefined ? "TON_SETTLER_KEYS: set without TON_WALLET_KEY" : "TON_WALLET_KEY: set without TON_SETTLER_KEYS");
  } else if (env.TON_WALLET_KEY !== undefined && env.TON_SETTLER_KEYS !== undefined) {
    let walletKey: Uint8Array | undefined;
    let settlerKeys: Uint8Array[] | undefined;
    try {
      walletKey = readTonWalletKey(env.TON_WALLET_KEY);
    } catch (e) {
      issues.push(`TON_WALLET_KEY: ${env.TON_WALLET_KEY}: ${(e as Error).message}`);
    }
    try {
      settlerKeys = readTonSettlerKeys(env.TON_SETTLER_KEYS);
    } catch (e) {
      issues.push(`TON_SETTLER_KEYS: ${env.TON_SETTLER_KEYS}: ${(e as Error).message}`);
    }
    if (walletKey && settlerKeys) payouts = { walletKey, settlerKeys, batch: env.TON_PAYOUT_BATCH ?? 50, lifetimeS: env.TON_PAYOUT_LIFETIME_S ?? 600 };
  }
  if (issues.length > 0) return { ton: undefined, issues };
  return {
    ton: {
      network: env.TON_NETWORK!,
      apiUrl: env.TON_API_URL,
      apiKey: env.TON_API_KEY,
      marketplace: Address.parse(env.TON_MARKETPLACE!).toRawString(),
      jettonMaster: Address.parse(env.TON_JETTON_MASTER!).toRawString(),
      pollMs: env.TON_POLL_MS,
      payouts,
    },
    issues: [],
  };
}
