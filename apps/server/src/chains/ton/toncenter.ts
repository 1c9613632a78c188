/**
 * The slice of a toncenter-compatible HTTP API (v3, `GET /api/v3/transactions`) the TON deposit
 * source reads: an account's transactions in logical-time order, with their external out messages
 * (the marketplace's event log). Answers are parsed by zod: a provider that changes shape fails
 * here, loudly, not deep inside the ledger.
 */
import { z } from "zod";

const OutMessageSchema = z.object({
  /** null for an external out message (an event). */
  destination: z.string().nullable(),
  message_content: z.object({ body: z.string().nullable().optional() }).nullable().optional(),
});

const TransactionSchema = z.object({
  account: z.string(),
  /** base64 of the transaction's hash. */
  hash: z.string(),
  lt: z.string().regex(/^\d+$/),
  now: z.number().int(),
  description: z
    .object({
      aborted: z.boolean().optional(),
      compute_ph: z.object({ success: z.boolean().optional(), exit_code: z.number().int().optional() }).passthrough().optional(),
    })
    .passthrough(),
  /** The inbound message (its body: what the transaction was asked to do). */
  in_msg: z
    .object({ source: z.string().nullable().optional(), message_content: z.object({ body: z.string().nullable().optional() }).nullable().optional() })
    .nullable()
    .optional(),
  out_msgs: z.array(OutMessageSchema),
});
export type TonTransaction = z.infer<typeof TransactionSchema>;

const TransactionsSchema = z.object({ transactions: z.array(TransactionSchema) });

const GetMethodSchema = z.object({
  exit_code: z.number().int(),
  stack: z.array(z.object({ type: z.string(), value: z.unknown() })),
});
/** A get-method's answer: its exit code and the stack's numbers (others as null). */
export interface GetMethodResult {
  exitCode: number;
  stack: (bigint | null)[];
}

export interface TonCenter {
  /** `account`'s transactions with lt ≥ `startLt` (the whole history when undefined), oldest first, at most `limit`; `startUtime`: none older. */
  transactions(account: string, startLt: bigint | undefined, limit: number, startUtime?: number): Promise<TonTransaction[]>;
  /** Sends a serialized external message (BOC, base64): `POST /api/v3/message`. */
  sendMessage(boc: string): Promise<void>;
  /** Runs a get-method with integer arguments: `POST /api/v3/runGetMethod`. */
  runGetMethod(address: string, method: string, args: bigint[]): Promise<GetMethodResult>;
}

const toNumber = (item: { type: string; value: unknown }): bigint | null => {
  if (item.type !== "num" || typeof item.value !== "string") return null;
  const v = item.value.trim();
  return v.startsWith("-") ? -BigInt(v.slice(1)) : BigInt(v);
};

/** A toncenter v3 client (TON_API_URL, e.g. https://testnet.toncenter.com; TON_API_KEY sent as X-API-Key). */
export function toncenterV3(baseUrl: string, apiKey?: string, fetchImpl: typeof fetch = fetch): TonCenter {
  const root = baseUrl.replace(/\/+$/, "");
  const headers: Record<string, string> = apiKey ? { "X-API-Key": apiKey } : {};
  const post = async (path: string, body: unknown): Promise<unknown> => {
    const res = await fetchImpl(`${root}${path}`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`toncenter: POST ${path} answered ${res.status}`);
    return res.json();
  };
  return {
    async sendMessage(boc) {
      await post("/api/v3/message", { boc });
    },
    async runGetMethod(address, method, args) {
      const answer = await post("/api/v3/runGetMethod", { address, method, stack: args.map((a) => ({ type: "num", value: `${a < 0n ? "-" : ""}0x${(a < 0n ? -a : a).toString(16)}` })) });
      const parsed = GetMethodSchema.safeParse(answer);
      if (!parsed.success) throw new Error(`toncenter: unexpected /api/v3/runGetMethod answer: ${parsed.error.issues[0]?.message}`);
      return { exitCode: parsed.data.exit_code, stack: parsed.data.stack.map(toNumber) };
    },
    async transactions(account, startLt, limit, startUtime) {
      const q = new URLSearchParams({ account, sort: "asc", limit: String(limit), offset: "0" });
      if (startLt !== undefined) q.set("start_lt", startLt.toString());
      if (startUtime !== undefined) q.set("start_utime", String(startUtime));
      const res = await fetchImpl(`${root}/api/v3/transactions?${q}`, { headers });
      if (!res.ok) throw new Error(`toncenter: GET /api/v3/transactions answered ${res.status}`);
      const parsed = TransactionsSchema.safeParse(await res.json());
      if (!parsed.success) throw new Error(`toncenter: unexpected /api/v3/transactions answer: ${parsed.error.issues[0]?.message}`);
      return parsed.data.transactions;
    },
  };
}

const JettonWalletsSchema = z.object({ jetton_wallets: z.array(z.object({ address: z.string(), balance: z.string().regex(/^\d+$/) })) });

/**
 * The jetton wallet `owner` holds of `jettonMaster` and its balance (toncenter v3's jetton index:
 * `GET /api/v3/jetton/wallets`), raw form, or null when the owner has none yet.
 */
export async function jettonWalletOf(
  baseUrl: string,
  apiKey: string | undefined,
  owner: string,
  jettonMaster: string,
  fetchImpl: typeof fetch = fetch,
): Promise<{ address: string; balance: bigint } | null> {
  const q = new URLSearchParams({ owner_address: owner, jetton_address: jettonMaster, limit: "1", offset: "0" });
  const res = await fetchImpl(`${baseUrl.replace(/\/+$/, "")}/api/v3/jetton/wallets?${q}`, { headers: apiKey ? { "X-API-Key": apiKey } : {} });
  if (!res.ok) throw new Error(`toncenter: GET /api/v3/jetton/wallets answered ${res.status}`);
  const parsed = JettonWalletsSchema.safeParse(await res.json());
  if (!parsed.success) throw new Error(`toncenter: unexpected /api/v3/jetton/wallets answer: ${parsed.error.issues[0]?.message}`);
  const wallet = parsed.data.jetton_wallets[0];
  return wallet ? { address: wallet.address, balance: BigInt(wallet.balance) } : null;
}
