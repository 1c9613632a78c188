import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// The README is a front door whose reference lives in docs/: a moved section must not leave a
// link (or an anchor into a heading) pointing nowhere.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../..");

const markdownFiles = (): string[] => [
  "README.md",
  ...readdirSync(path.join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
  ...["apps", "packages"].flatMap((dir) =>
    readdirSync(path.join(ROOT, dir))
      .map((name) => `${dir}/${name}/README.md`)
      .filter((f) => existsSync(path.join(ROOT, f))),
  ),
  ...["contracts/README.md", "circuits/README.md"].filter((f) => existsSync(path.join(ROOT, f))),
];

/** Text outside fenced code blocks, where links and headings mean something. */
const prose = (md: string) => md.replace(/^```[\s\S]*?^```/gm, "");

/** GitHub's heading anchors: lower case, punctuation dropped, spaces as dashes, repeats numbered. */
function headingAnchors(md: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of prose(md).matchAll(/^#{1,6}\s+(.+)$/gm)) {
    const base = m[1]!
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

describe("links between the README and docs/", () => {
  it("computes anchors the way GitHub does", () => {
    expect([...headingAnchors("# A tour\n## `GET /api/v1/tasks/{id}`\n## Tests and type checks\n## A tour\n```\n# not a heading\n```")]).toEqual([
      "a-tour",
      "get-apiv1tasksid",
      "tests-and-type-checks",
      "a-tour-1",
    ]);
  });

  it("every relative link names a file that exists, and every anchor a heading in it", () => {
    const broken: string[] = [];
    for (const file of markdownFiles()) {
      const text = prose(readFileSync(path.join(ROOT, file), "utf8"));
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const link = m[1]!;
        if (/^[a-z]+:/.test(link)) continue;
        const [target, anchor] = link.split("#") as [string, string | undefined];
        const resolved = target ? path.resolve(path.dirname(path.join(ROOT, file)), target) : path.join(ROOT, file);
        if (!existsSync(resolved)) broken.push(`${file}: ${link} (no such file)`);
        else if (anchor && resolved.endsWith(".md") && !headingAnchors(readFileSync(resolved, "utf8")).has(anchor)) broken.push(`${file}: ${link} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });
});
