/** Output helpers: JSON with bigints and typed arrays, aligned tables, short tensor previews. */
import { float16ToFloat32 } from "@stun/shared";
import type { Tensor } from "../tensors";
import type { Context } from "./context";

/** JSON.stringify replacer: bigint → decimal string, typed arrays → plain arrays. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return Array.from(value as unknown as ArrayLike<number | bigint>, (v) => (typeof v === "bigint" ? v.toString() : v));
  }
  return value;
}

export const toJson = (value: unknown): string => JSON.stringify(value, jsonReplacer, 2);

/** Left-aligned columns, two spaces apart. */
export function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
  return all
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

export const formatDims = (dims: readonly (number | string)[]): string => `[${dims.join(", ")}]`;

/** "float32 [1, 3]  [0.1, 0.2, 0.7]" with at most `max` values shown. */
export function tensorPreview(t: Tensor, max = 8): string {
  const data = t.data as ArrayLike<number | bigint | string>;
  const shown: string[] = [];
  for (let i = 0; i < Math.min(max, data.length); i++) {
    const v = data[i]!;
    // float16 data are bit patterns; show the numbers they stand for.
    shown.push(typeof v === "string" ? JSON.stringify(v) : t.dtype === "float16" ? String(float16ToFloat32(Number(v))) : String(v));
  }
  const more = data.length > max ? `, … (${data.length} values)` : "";
  return `${t.dtype} ${formatDims(t.dims)}  [${shown.join(", ")}${more}]`;
}

/** Key/value lines with the keys padded to one width. */
export function keyValues(pairs: [string, string][]): string {
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n");
}

/** A list command's output: the items' table, a line saying there are none, or with --json `{ [key]: items }`. */
export interface ListOutput<T> {
  /** The JSON property the items go under, e.g. "tasks". */
  key: string;
  items: readonly T[];
  /** The line printed when there are no items, e.g. "no tasks". */
  empty: string;
  header: string[];
  row: (item: T) => string[];
}

/** Prints a list the way every list command does (see {@link ListOutput}). */
export function printList<T>(ctx: Context, { key, items, empty, header, row }: ListOutput<T>): void {
  if (ctx.json) return ctx.printJson({ [key]: items });
  if (items.length === 0) return ctx.out(empty);
  ctx.out(
    table(
      header,
      items.map((item) => row(item)),
    ),
  );
}
