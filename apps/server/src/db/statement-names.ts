/**
 * Names for PostgreSQL prepared statements (the pg adapter's `statementNameGenerator`).
 *
 * Unnamed, every statement is parsed and planned again on each run; for the hot path's CTEs the
 * planning cost as much as the execution (pg_stat_statements under `bench/throughput.ts`: 2.6 s of
 * planning next to 2.5 s of execution). A named statement is parsed once per connection and, after
 * a few runs, PostgreSQL may keep a generic plan for it.
 *
 * A text is named from its second run on (one-off statements stay unnamed), and at most `max`
 * texts per process are named, so a query whose text varies (an IN list of changing length) cannot
 * grow each connection's prepared statements without end. The name is a digest of the text, so one
 * name never stands for two texts (node-postgres refuses that).
 */
import { createHash } from "node:crypto";

export function preparedStatementNames(opts: { after?: number; max?: number } = {}): (query: { sql: string }) => string {
  const after = opts.after ?? 2;
  const max = opts.max ?? 1000;
  const named = new Map<string, string>();
  const seen = new Map<string, number>();
  return ({ sql }) => {
    const name = named.get(sql);
    if (name !== undefined) return name;
    if (named.size >= max) return "";
    const runs = (seen.get(sql) ?? 0) + 1;
    if (runs < after) {
      if (seen.size >= 4 * max) seen.clear();
      seen.set(sql, runs);
      return "";
    }
    seen.delete(sql);
    const made = `stun_${createHash("sha256").update(sql).digest("hex").slice(0, 24)}`;
    named.set(sql, made);
    return made;
  };
}
