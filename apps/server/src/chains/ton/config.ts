/**
 * The TON rail's configuration: the TON_* variables (spread into env.ts's one zod schema). Unset
 * TON_API_URL turns it off. The server reads the marketplace contract (contracts-ton) through a
 * toncenter-compatible HTTP API; payouts (M-of-N settler-signed `payout` messages) are not sent by
 * the server yet (docs/CHAIN.md "TON").
 */
import { Address } from "@ton/core";
import { z } from "zod";

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
};

type TonEnv = z.infer<z.ZodObject<typeof tonEnvShape>>;

export interface TonConfig {
  network: (typeof TON_NETWORKS)[number];
  apiUrl: string;
  apiKey: string | undefined;
  /** Raw form (0:…), as deposits are recorded. */
  marketplace: string;
  jettonMaster: string;
  pollMs: number;
}

/** The TON configuration, or undefined when TON_API_URL is unset; problems one line each. */
export function resolveTonConfig(env: TonEnv): { ton: TonConfig | undefined; issues: string[] } {
  if (!env.TON_API_URL) {
    const stray = (["TON_NETWORK", "TON_MARKETPLACE", "TON_JETTON_MASTER", "TON_API_KEY"] as const).filter((k) => env[k] !== undefined);
    return { ton: undefined, issues: stray.map((k) => `${k}: set without TON_API_URL`) };
  }
  const issues = (["TON_NETWORK", "TON_MARKETPLACE", "TON_JETTON_MASTER"] as const).filter((k) => env[k] === undefined).map((k) => `${k}: required when TON_API_URL is set`);
  if (issues.length > 0) return { ton: undefined, issues };
  return {
    ton: {
      network: env.TON_NETWORK!,
      apiUrl: env.TON_API_URL,
      apiKey: env.TON_API_KEY,
      marketplace: Address.parse(env.TON_MARKETPLACE!).toRawString(),
      jettonMaster: Address.parse(env.TON_JETTON_MASTER!).toRawString(),
      pollMs: env.TON_POLL_MS,
    },
    issues: [],
  };
}
