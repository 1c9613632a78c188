"use client";
/**
 * The account calls the Contribute tab makes (REST, `Authorization: Bearer` with the signed-in
 * key): the account view for stake and earnings, staking, and the local-mode faucet.
 */
import { type AccountView, AccountViewSchema } from "@stun/shared";
import { getApiKey } from "@/lib/api-key";
import { RestError } from "@/lib/errors";

async function call(method: "GET" | "POST", path: string, body?: unknown): Promise<AccountView> {
  const key = getApiKey();
  if (!key) throw new RestError(401, "UNAUTHORIZED", "not signed in");
  const res = await fetch(`/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const json = (await res.json().catch(() => undefined)) as { error?: { code?: string; message?: string } } | undefined;
  if (!res.ok) throw new RestError(res.status, json?.error?.code ?? `HTTP_${res.status}`, json?.error?.message ?? `${method} ${path} answered HTTP ${res.status}`);
  const view = AccountViewSchema.safeParse(json);
  if (!view.success) throw new RestError(res.status, "BAD_RESPONSE", `unexpected answer to ${method} ${path}`);
  return view.data;
}

export const getAccount = (): Promise<AccountView> => call("GET", "/accounts/me");
export const stakeFunds = (amount: string): Promise<AccountView> => call("POST", "/accounts/me/stake", { amount });
export const faucetFunds = (amount: string): Promise<AccountView> => call("POST", "/faucet", { amount });
