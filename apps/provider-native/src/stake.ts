/**
 * `--stake N`: before the agent connects, top its account's stake up to N through the REST API
 * (`GET /api/v1/accounts/me`, `POST /api/v1/accounts/me/stake`, Bearer API key). The marketplace
 * gives paid work only to accounts whose stake covers 10 × the prices of their live executions,
 * so an agent without enough stake gets free work only. Staking never stops the agent: a failure
 * (e.g. INSUFFICIENT_FUNDS) is a warning and the agent runs on.
 */
import { AccountViewSchema } from "@stun/shared";
import { errorMessage } from "@stun/provider-core";
import type { Logger } from "./logger";

export interface EnsureStakeOptions {
  server: string;
  apiKey: string;
  /** The stake wanted, integer base units. */
  target: bigint;
  logger: Logger;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

export type EnsureStakeResult = { ok: true; staked: bigint; stake: bigint } | { ok: false; code: string; message: string };

class StakeError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Stakes `target − stake` when the account's stake is below `target`; logs what it did. Never throws. */
export async function ensureStake(o: EnsureStakeOptions): Promise<EnsureStakeResult> {
  const f = o.fetch ?? globalThis.fetch;
  const base = `${o.server.replace(/\/+$/, "")}/api/v1`;
  const call = async (method: "GET" | "POST", path: string, body?: unknown) => {
    let res: Response;
    try {
      res = await f(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${o.apiKey}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(o.timeoutMs ?? 10_000),
      });
    } catch (e) {
      throw new StakeError("NETWORK_ERROR", `cannot reach ${base}${path}: ${errorMessage(e)}`);
    }
    const json = (await res.json().catch(() => undefined)) as { error?: { code?: string; message?: string } } | undefined;
    if (!res.ok) throw new StakeError(json?.error?.code ?? `HTTP_${res.status}`, json?.error?.message ?? `${method} ${path} answered ${res.status}`);
    const view = AccountViewSchema.safeParse(json);
    if (!view.success) throw new StakeError("BAD_RESPONSE", `unexpected answer to ${method} ${path}`);
    return { stake: BigInt(view.data.stake), balance: BigInt(view.data.balance) };
  };
  try {
    const before = await call("GET", "/accounts/me");
    if (before.stake >= o.target) {
      o.logger.info("stake already at target", { stake: before.stake, target: o.target });
      return { ok: true, staked: 0n, stake: before.stake };
    }
    const amount = o.target - before.stake;
    const after = await call("POST", "/accounts/me/stake", { amount: amount.toString() });
    o.logger.info("staked", { amount, stake: after.stake, balance: after.balance, target: o.target });
    return { ok: true, staked: amount, stake: after.stake };
  } catch (e) {
    const code = e instanceof StakeError ? e.code : "STAKE_FAILED";
    const message = errorMessage(e);
    o.logger.warn("could not stake; without enough stake this provider gets only free (price 0) work", { code, message, target: o.target });
    return { ok: false, code, message };
  }
}
