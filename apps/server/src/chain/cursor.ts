/**
 * A durable block cursor (`ChainCursor`): the last block an event stream of the chain adapter has
 * fully processed, with that block's hash (a deeper reorg is detected by it). The stake watcher
 * keeps its position here; its write goes into the same database transaction as the range's rows.
 */
import type { SqlClient } from "../db/database";
import type { PrismaClient } from "../db/generated/client";

export interface BlockCursor {
  blockNumber: bigint;
  blockHash: string | null;
}

/** The cursor `id`, or `startBlock − 1` (nothing processed) before the first write. */
export async function readBlockCursor(db: PrismaClient, id: string, startBlock: bigint): Promise<BlockCursor> {
  const row = await db.chainCursor.findUnique({ where: { id } });
  return row ? { blockNumber: row.blockNumber, blockHash: row.blockHash } : { blockNumber: startBlock - 1n, blockHash: null };
}

/** Moves the cursor to `blockNumber` (hash `blockHash`; null: unknown, as after a rewind). */
export async function writeBlockCursor(db: SqlClient | PrismaClient, id: string, chainId: number, blockNumber: bigint, blockHash: string | null): Promise<void> {
  await db.$executeRaw`
    INSERT INTO "ChainCursor" (id, "chainId", "blockNumber", "blockHash", "updatedAt")
    VALUES (${id}, ${chainId}, ${blockNumber}, ${blockHash}, ${new Date()})
    ON CONFLICT (id) DO UPDATE SET "blockNumber" = EXCLUDED."blockNumber", "blockHash" = EXCLUDED."blockHash", "updatedAt" = EXCLUDED."updatedAt"`;
}
