import { describe, expect, it } from "vitest";
import type { Context } from "../src/cli/context";
import { printList } from "../src/cli/format";

/** A context that records what a command prints. */
function recorder(json: boolean) {
  const lines: string[] = [];
  const printed: unknown[] = [];
  const ctx = { json, out: (line = "") => lines.push(line), printJson: (v: unknown) => printed.push(v) } as unknown as Context;
  return { ctx, lines, printed };
}

const rows = [
  { id: "t1", cost: 5n },
  { id: "task-22", cost: null },
];
const list = (items: readonly (typeof rows)[number][]) => ({
  key: "tasks",
  items,
  empty: "no tasks",
  header: ["ID", "COST"],
  row: (t: (typeof rows)[number]) => [t.id, t.cost === null ? "-" : String(t.cost)],
});

describe("printList", () => {
  it("prints an aligned table, one row per item", () => {
    const r = recorder(false);
    printList(r.ctx, list(rows));
    expect(r.lines).toEqual(["ID       COST\nt1       5\ntask-22  -"]);
    expect(r.printed).toEqual([]);
  });

  it("prints the empty line when there are no items", () => {
    const r = recorder(false);
    printList(r.ctx, list([]));
    expect(r.lines).toEqual(["no tasks"]);
  });

  it("with --json prints { [key]: items } (also when empty) and nothing else", () => {
    for (const items of [rows, []]) {
      const r = recorder(true);
      printList(r.ctx, list(items));
      expect(r.printed).toEqual([{ tasks: items }]);
      expect(r.lines).toEqual([]);
    }
  });
});
