/** Rows a statement aggregated with `json_agg`: PGlite answers the JSON parsed, node-postgres as text; null for none. */
export const jsonRows = <T>(v: T[] | string | null | undefined): T[] => (typeof v === "string" ? (JSON.parse(v) as T[]) : (v ?? []));
