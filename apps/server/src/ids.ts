import { randomBytes } from "node:crypto";

/** Sortable-ish, URL-safe ids with a readable prefix: `tsk_…`, `mdl_…`, `acc_…`. */
export function newId(prefix: string): string {
  const time = Date.now().toString(36).padStart(9, "0");
  return `${prefix}_${time}${randomBytes(8).toString("hex")}`;
}

/** Whether `id` has the form newId(`prefix`) gives (what a createZkTask escrow's id must encode). */
export const isNewIdOf = (prefix: string, id: string): boolean => new RegExp(`^${prefix}_[0-9a-z]{9}[0-9a-f]{16}$`).test(id);
