import type { Tx } from "../db/database";
import { LIVE_STATUSES } from "../scheduler/live-assignments";
import { newPairTrust, type PairTrust } from "./policy";

/** What the dispatcher needs to know of a candidate provider beyond the live registry. */
export interface CandidateFacts {
  /** Its (provider, current backend) pair's record. */
  trust: PairTrust;
  /** Its account's stake, and the prices of the account's live executions. */
  stake: bigint;
  atRisk: bigint;
}

type Row = { id: string; streak: number | null; solo: number | null; checked: number | null; invalid: number | null; stake: bigint; atRisk: bigint | null };

/**
 * One statement for all candidates: pair trust, account stake and value at risk. Read inside the
 * claiming transaction so the decision uses the committed record (another instance may have just
 * reset a pair), and so the executions this transaction inserted count as at risk. The account
 * rows are share-locked: an unstake (which locks the row) waits for this claim, and then counts
 * the executions it added.
 */
export async function loadCandidateFacts(tx: Tx, providerIds: string[]): Promise<Map<string, CandidateFacts>> {
  if (providerIds.length === 0) return new Map();
  const rows = await tx.$queryRaw<Row[]>`
    SELECT p.id, t.streak, t.solo, t.checked, t.invalid, acc.stake,
           (SELECT SUM(a.price) FROM "Assignment" a JOIN "Provider" q ON q.id = a."providerId"
            WHERE q."accountId" = p."accountId" AND a.status = ANY(${[...LIVE_STATUSES]}::text[])) AS "atRisk"
    FROM "Provider" p
    JOIN "Account" acc ON acc.id = p."accountId"
    LEFT JOIN "ProviderTrust" t ON t."providerId" = p.id AND t.backend = p.backend
    WHERE p.id = ANY(${providerIds}::text[])
    FOR SHARE OF acc`;
  return new Map(
    rows.map((r) => [
      r.id,
      {
        trust: r.streak === null ? newPairTrust() : { streak: r.streak, solo: r.solo ?? 0, checked: r.checked ?? 0, invalid: r.invalid ?? 0 },
        stake: BigInt(r.stake),
        atRisk: BigInt(r.atRisk ?? 0),
      },
    ]),
  );
}
