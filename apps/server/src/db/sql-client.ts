import type { Prisma } from "./generated/client";

/**
 * What runs raw SQL (`Prisma.sql`): a Prisma client or transaction, or a transaction on
 * PostgreSQL run by node-postgres directly (direct-sql.ts), which has no model API. Code a
 * group-commit unit or a dispatcher claim reaches takes this, not Prisma's transaction client.
 */
export type SqlClient = Pick<Prisma.TransactionClient, "$queryRaw" | "$executeRaw" | "$queryRawUnsafe" | "$executeRawUnsafe">;
