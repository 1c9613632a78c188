/**
 * Where Sign-In with Ethereum nonces wait between auth.siweNonce and auth.siweVerify: this
 * process's memory (one instance), or Redis when REDIS_URL is set, so a nonce one instance issued
 * verifies on any other, and is spent once across all of them (SET NX to issue, GETDEL to spend).
 * Sign-In With Solana nonces and TonConnect ton_proof payloads live here too, under a family
 * prefix (`solana:<nonce>`, `ton:<payload>`: services/sign-in-nonces.ts).
 */
import type { Redis } from "ioredis";

export interface SiweNonceStore {
  /** Remembers `nonce` until `expiresAt` (ms); false when the store is full. */
  put(nonce: string, expiresAt: number, now: number): Promise<boolean>;
  /** Spends `nonce`: its expiry when it was issued and not spent yet, else undefined. */
  take(nonce: string): Promise<number | undefined>;
}

/** Most nonces one instance holds at once (each ~100 bytes); past it, new ones are refused. */
const MAX_NONCES = 100_000;

export class MemorySiweNonces implements SiweNonceStore {
  private readonly nonces = new Map<string, number>();

  async put(nonce: string, expiresAt: number, now: number): Promise<boolean> {
    if (this.nonces.size >= MAX_NONCES / 2) {
      for (const [n, until] of this.nonces) if (until <= now) this.nonces.delete(n);
    }
    if (this.nonces.size >= MAX_NONCES) return false;
    this.nonces.set(nonce, expiresAt);
    return true;
  }

  async take(nonce: string): Promise<number | undefined> {
    const until = this.nonces.get(nonce);
    this.nonces.delete(nonce);
    return until;
  }
}

/** Nonces as Redis keys `<REDIS_PREFIX>:siwe:<nonce>` that expire on their own (no cap needed). */
export class RedisSiweNonces implements SiweNonceStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(nonce: string): string {
    return `${this.prefix}:siwe:${nonce}`;
  }

  async put(nonce: string, expiresAt: number, now: number): Promise<boolean> {
    await this.redis.set(this.key(nonce), String(expiresAt), "PX", Math.max(1, expiresAt - now), "NX");
    return true;
  }

  async take(nonce: string): Promise<number | undefined> {
    const v = await this.redis.getdel(this.key(nonce));
    return v === null ? undefined : Number(v);
  }
}
