/** What ledger reads accept: the Database wrapper, a PrismaClient, or a transaction client. */
import type { Database, Tx } from "../db/database";
import type { PrismaClient } from "../db/generated/client";

export type DbLike = Database | PrismaClient | Tx;

export function clientOf(db: DbLike): PrismaClient | Tx {
  return "prisma" in db && "kind" in db ? db.prisma : (db as PrismaClient | Tx);
}
