/**
 * Marketplace home page load in real Chromium on loopback: the real server (embedded PGlite)
 * serving the built web app (apps/web/out, rebuilt first when stale, as the web tests do), Debian's
 * headless Chromium through playwright-core with the web tests' launch flags
 * (apps/web/test/support/browser.ts). Goal: the home page under 2 s.
 *
 * Figures, from the page's own Performance API (navigation start = 0):
 *   - load: the navigation's `loadEventEnd`;
 *   - FCP: the `first-contentful-paint` paint entry;
 *   - data (signed in only): when the network totals and the newest models are on screen (tRPC
 *     queries after hydration), checked every animation frame.
 * Cold: a fresh browser profile for each load (empty HTTP cache, nothing compiled). Warm: one
 * profile, loaded once to fill the cache, then loaded again (via about:blank, so each is a plain
 * navigation, not a reload). Each for a visitor (signed out) and for a signed-in requester; a model
 * is uploaded first so the home page has something to list. Prints median and max of each.
 *
 *   npx tsx bench/web-page-load.ts [--loads 10]
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import type { Page } from "playwright-core";
import { buildMlp } from "@stun/testkit";
import { parseConfig } from "../apps/server/src/env";
import { startServer } from "../apps/server/src/server";
import { createAccount, faucet } from "../apps/server/src/services/accounts";
import { WEB_OUT, buildWeb } from "../apps/web/scripts/build";
import { launchBrowser } from "../apps/web/test/support/browser";

const { values } = parseArgs({ options: { loads: { type: "string", default: "10" } } });
const LOADS = Number(values.loads);
const GOAL_MS = 2000;

const built = await buildWeb({ log: (line) => console.log(line) });
if (built.built) console.log(`# web app built in ${(built.ms / 1000).toFixed(1)} s (${built.reason})`);

const dataDir = mkdtempSync(path.join(os.tmpdir(), "stun-bench-web-"));
const server = await startServer(parseConfig({ PORT: "0", DATA_DIR: dataDir, LOG_LEVEL: "warn", WEB_DIR: WEB_OUT, ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}) }));
const requester = await createAccount(server.app);
await faucet(server.app, requester.accountId, 1_000_000n);
const mlp = buildMlp({ inputSize: 64, hidden: [128], outputSize: 10 });
const upload = await fetch(`${server.url}/api/v1/models?name=bench-mlp`, {
  method: "POST",
  headers: { authorization: `Bearer ${requester.apiKey}`, "content-type": "application/octet-stream" },
  body: Buffer.from(mlp.bytes),
});
if (upload.status !== 201) throw new Error(`model upload: HTTP ${upload.status}`);
const HOME = `${server.url}/`;

interface Sample {
  load: number;
  fcp: number;
  data?: number;
  kib: number;
}

/** Navigation start → load event end and → first contentful paint (whose entry can lag the load event by a frame), and bytes transferred. */
const PAGE_TIMING = `(async () => {
  const fcp = await new Promise((resolve) => {
    const have = performance.getEntriesByName("first-contentful-paint")[0];
    if (have) return resolve(have.startTime);
    new PerformanceObserver((list, obs) => {
      const e = list.getEntriesByName("first-contentful-paint")[0];
      if (e) { obs.disconnect(); resolve(e.startTime); }
    }).observe({ type: "paint", buffered: true });
    setTimeout(() => resolve(NaN), 10000);
  });
  const nav = performance.getEntriesByType("navigation")[0];
  const bytes = [nav, ...performance.getEntriesByType("resource")].reduce((n, e) => n + e.transferSize, 0);
  return { load: nav.loadEventEnd, fcp, bytes };
})()`;
/** Signed in: the time the newest models and the network totals (tRPC, after hydration) are on screen. */
const DATA_SHOWN = `(() => {
  const models = document.querySelector('ul[aria-label="Models"] a');
  const busy = document.querySelector("dl[aria-busy]")?.getAttribute("aria-busy");
  return models && busy === "false" ? performance.now() : false;
})()`;

/** One navigation to the home page in `page`, measured by the page itself. */
async function loadHome(page: Page, signedIn: boolean): Promise<Sample> {
  const res = await page.goto(HOME, { waitUntil: "load" });
  if (res?.status() !== 200) throw new Error(`home page: HTTP ${res?.status()}`);
  // In-page code as strings: this program is type-checked without the DOM library.
  const timing = (await page.evaluate(PAGE_TIMING)) as { load: number; fcp: number; bytes: number };
  let data: number | undefined;
  if (signedIn) data = (await (await page.waitForFunction(DATA_SHOWN, undefined, { polling: "raf", timeout: 30_000 })).jsonValue()) as number;
  return { load: timing.load, fcp: timing.fcp, ...(data !== undefined ? { data } : {}), kib: timing.bytes / 1024 };
}

async function withBrowser<T>(signedIn: boolean, fn: (page: Page) => Promise<T>): Promise<T> {
  const browser = await launchBrowser();
  try {
    // Signed in before the first script runs (the app keeps the key in localStorage); not on about:blank.
    if (signedIn) {
      await browser.context.addInitScript({
        content: `if (location.origin === ${JSON.stringify(new URL(server.url).origin)}) localStorage.setItem("stun.apiKey", ${JSON.stringify(requester.apiKey)});`,
      });
    }
    const page = await browser.newPage();
    const out = await fn(page);
    const errors = browser.errors();
    if (errors.length) throw new Error(`console errors:\n${errors.join("\n")}`);
    return out;
  } finally {
    await browser.close();
  }
}

async function cold(signedIn: boolean): Promise<Sample[]> {
  const out: Sample[] = [];
  for (let i = 0; i < LOADS; i++) out.push(await withBrowser(signedIn, (page) => loadHome(page, signedIn)));
  return out;
}

async function warm(signedIn: boolean): Promise<Sample[]> {
  return withBrowser(signedIn, async (page) => {
    await loadHome(page, signedIn); // fills the cache
    const out: Sample[] = [];
    for (let i = 0; i < LOADS; i++) {
      await page.goto("about:blank");
      out.push(await loadHome(page, signedIn));
    }
    return out;
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const kib = (k: number) => (k < 10 ? k.toFixed(1) : String(Math.round(k)));
const fmt = (xs: number[]) => `${Math.round(median(xs))} / ${Math.round(Math.max(...xs))} ms`;

console.log(
  `# home page load, ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), load average ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}, ${server.app.db.kind}, ${LOADS} loads each`,
);
console.log(`# median / max from navigation start; goal: < ${GOAL_MS} ms`);
let worst = 0;
try {
  for (const signedIn of [false, true]) {
    for (const [kind, run] of [
      ["cold", cold],
      ["warm", warm],
    ] as const) {
      const s = await run(signedIn);
      const label = `${kind}, ${signedIn ? "signed in" : "signed out"}`.padEnd(22);
      const data = signedIn ? `  data shown ${fmt(s.map((x) => x.data!))}` : "";
      console.log(`${label} load ${fmt(s.map((x) => x.load))}  FCP ${fmt(s.map((x) => x.fcp))}${data}  transferred ${kib(median(s.map((x) => x.kib)))} KiB`);
      worst = Math.max(worst, ...s.map((x) => Math.max(x.load, x.fcp, x.data ?? 0)));
    }
  }
  console.log(`worst of all loads: ${Math.round(worst)} ms — goal < ${GOAL_MS} ms ${worst < GOAL_MS ? "met" : "not met"}`);
} finally {
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
}
