"use client";
import type { AccountView, CreateAccountResponseSchema, ModelView } from "@stun/shared";
import type { z } from "zod";
import { getApiKey } from "./api-key";
import type { WebChainConfig } from "@/wallet/chain";
import { RestError } from "./errors";

/** REST calls the web app makes where tRPC does not fit: binary model upload, accounts before sign-in. */
export async function rest<T>(method: string, path: string, init: { key?: string | null; body?: BodyInit; contentType?: string } = {}): Promise<T> {
  const headers: Record<string, string> = {};
  const key = init.key === undefined ? getApiKey() : init.key;
  if (key) headers.authorization = `Bearer ${key}`;
  if (init.contentType) headers["content-type"] = init.contentType;
  const res = await fetch(`/api/v1${path}`, { method, headers, ...(init.body !== undefined ? { body: init.body } : {}) });
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    throw new RestError(res.status, "BAD_RESPONSE", `unexpected response (HTTP ${res.status})`);
  }
  if (!res.ok) {
    const err = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new RestError(res.status, err?.code ?? `HTTP_${res.status}`, err?.message ?? `request failed (HTTP ${res.status})`);
  }
  return body as T;
}

/** Uploads an ONNX file as the raw body (`POST /api/v1/models`). */
export const uploadModel = (file: Blob, name?: string): Promise<ModelView> =>
  rest<ModelView>("POST", `/models${name ? `?name=${encodeURIComponent(name)}` : ""}`, { body: file, contentType: "application/octet-stream" });

export const createAccount = (): Promise<z.infer<typeof CreateAccountResponseSchema>> => rest("POST", "/accounts", { key: null });

export const faucet = (key: string, amount: string): Promise<AccountView> => rest<AccountView>("POST", "/faucet", { key, body: JSON.stringify({ amount }), contentType: "application/json" });

/** Checks a key before keeping it. */
export const accountWithKey = (key: string): Promise<AccountView> => rest<AccountView>("GET", "/accounts/me", { key });

export interface WebConfig {
  mode: "local" | "production";
  faucet: boolean;
  /** The server's SLASH_MULTIPLE (decimal string): stake must cover this × the price of each live execution. */
  slashMultiple?: string;
  /** The EVM chain this server settles on, when on-chain settlement is on (src/wallet/chain.ts). */
  chain?: WebChainConfig;
}
/** What the server tells the web app before sign-in (apps/server/src/http/web.ts). */
export async function fetchWebConfig(): Promise<WebConfig> {
  const res = await fetch("/web-config.json");
  if (!res.ok) throw new RestError(res.status, "UNAVAILABLE", "the server has no web configuration");
  return (await res.json()) as WebConfig;
}
