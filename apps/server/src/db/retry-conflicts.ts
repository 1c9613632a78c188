/**
 * PostgreSQL aborts one of two transactions that wait on each other's locks (deadlock, 40P01) or
 * that cannot be serialized (40001); the standard answer is to run the aborted one again. The
 * result path takes many row locks in an order set by the data (providers, their accounts, the
 * treasury, other tasks' rows for re-checks), so under concurrency the unit is run again by group
 * commit (db/group-commit.ts) rather than losing the provider's result.
 */
const RETRYABLE = new Set(["40P01", "40001"]);
const ATTEMPTS = 5;

/** What the database said behind a Prisma driver-adapter error (PostgreSQL's code and message, the adapter's kind), if anything. */
export function driverErrorCause(e: unknown): { originalCode?: string; originalMessage?: string; kind?: string } | undefined {
  // node-postgres's own (db/direct-sql.ts): PostgreSQL's code and message on the error itself. Read
  // by shape: node-postgres's DatabaseError class may come from more than one copy of the package.
  const own = e as { code?: unknown; severity?: unknown; message?: unknown } | null;
  if (typeof own?.code === "string" && typeof own.severity === "string" && typeof own.message === "string") return { originalCode: own.code, originalMessage: own.message };
  return (e as { meta?: { driverAdapterError?: { cause?: { originalCode?: string; originalMessage?: string; kind?: string } } } } | null)?.meta?.driverAdapterError?.cause;
}

/** The PostgreSQL error code behind a Prisma driver-adapter error, if any. */
function sqlState(e: unknown): string | undefined {
  const cause = driverErrorCause(e);
  if (cause?.originalCode) return cause.originalCode;
  return cause?.kind === "TransactionWriteConflict" ? "40001" : undefined;
}

export const isRetryableConflict = (e: unknown): boolean => RETRYABLE.has(sqlState(e) ?? "");

/** Runs `run` (one whole transaction or statement) again when PostgreSQL aborted it for a deadlock or a serialization conflict. */
export async function retryOnConflict<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (e) {
      if (attempt >= ATTEMPTS || !isRetryableConflict(e)) throw e;
      // A short random pause so the two do not meet again at once.
      await new Promise((r) => setTimeout(r, Math.random() * 20 * attempt));
    }
  }
}
