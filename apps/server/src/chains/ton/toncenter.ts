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
      compute_ph: z.object({ success: z.boolean().optional() }).passthrough().optional(),
    })
    .passthrough(),
  out_msgs: z.array(OutMessageSchema),
});
export type TonTransaction = z.infer<typeof TransactionSchema>;

const TransactionsSchema = z.object({ transactions: z.array(TransactionSchema) });

export interface TonCenter {
  /** `account`'s transactions with lt ≥ `startLt` (the whole history when undefined), oldest first, at most `limit`. */
  transactions(account: string, startLt: bigint | undefined, limit: number): Promise<TonTransaction[]>;
}

/** A toncenter v3 client (TON_API_URL, e.g. https://testnet.toncenter.com; TON_API_KEY sent as X-API-Key). */
export function toncenterV3(baseUrl: string, apiKey?: string, fetchImpl: typeof fetch = fetch): TonCenter {
  const root = baseUrl.replace(/\/+$/, "");
  return {
    async transactions(account, startLt, limit) {
      const q = new URLSearchParams({ account, sort: "asc", limit: String(limit), offset: "0" });
      if (startLt !== undefined) q.set("start_lt", startLt.toString());
      const res = await fetchImpl(`${root}/api/v3/transactions?${q}`, { headers: apiKey ? { "X-API-Key": apiKey } : {} });
      if (!res.ok) throw new Error(`toncenter: GET /api/v3/transactions answered ${res.status}`);
      const parsed = TransactionsSchema.safeParse(await res.json());
      if (!parsed.success) throw new Error(`toncenter: unexpected /api/v3/transactions answer: ${parsed.error.issues[0]?.message}`);
      return parsed.data.transactions;
    },
  };
}
