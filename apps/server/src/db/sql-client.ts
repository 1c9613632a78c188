import type { Prisma } from "./generated/client";

/**
 * What runs raw SQL (`Prisma.sql`): a Prisma client or transaction, or a transaction on
 * PostgreSQL run by node-postgres directly (direct-sql.ts), which has no model API. Code a
 * group-commit unit or a dispatcher claim reaches takes this, not Prisma's transaction client.
 */
export type SqlClient = Pick<Prisma.TransactionClient, "$queryRaw" | "$executeRaw" | "$queryRawUnsafe" | "$executeRawUnsafe">;

/**
 * Marks a client whose statements go out as they are issued (node-postgres's pipeline mode,
 * direct-sql.ts): statements issued before the first answer comes back share a round trip, and
 * PostgreSQL still runs them one after the other, in the order they were issued.
 */
const PIPELINED = Symbol("pipelined");

export const markPipelined = <T extends SqlClient>(sql: T): T => Object.assign(sql, { [PIPELINED]: true });

/** Whether `sql`'s statements go out as they are issued (markPipelined). */
export const pipelines = (sql: SqlClient): boolean => (sql as { [PIPELINED]?: boolean })[PIPELINED] === true;

/**
 * The `steps` (each issuing its statement) in order, with the answers of none needed by the
 * next: on a client that pipelines they are all issued at once — one round trip where there
 * were as many as steps — else each after the one before has answered. Resolves with their
 * answers; where a step fails, rejects with the first failure (in order) once every step has
 * finished, so nothing is still running on the connection when the caller rolls back.
 */
export async function inOrder<T>(sql: SqlClient, steps: ReadonlyArray<() => Promise<T>>): Promise<T[]> {
  if (!pipelines(sql) || steps.length < 2) {
    const answers: T[] = [];
    for (const step of steps) answers.push(await step());
    return answers;
  }
  const settled = await Promise.allSettled(steps.map((step) => step()));
  const failed = settled.find((s) => s.status === "rejected");
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}
