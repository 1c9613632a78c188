import { randomBytes } from "node:crypto";

/** Sortable-ish, URL-safe ids with a readable prefix: `tsk_…`, `mdl_…`, `acc_…`. */
export function newId(prefix: string): string {
  const time = Date.now().toString(36).padStart(9, "0");
  return `${prefix}_${time}${randomBytes(8).toString("hex")}`;
}
