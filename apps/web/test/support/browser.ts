import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type BrowserContext, type ConsoleMessage, type Page } from "playwright-core";

export const CHROMIUM = process.env.STUN_CHROMIUM ?? "/usr/bin/chromium";

export interface LaunchOptions {
  /** Adds --enable-unsafe-webgpu (for the browser provider's WebGPU backend). */
  webgpu?: boolean;
  /** Extra Chromium flags. */
  args?: string[];
  viewport?: { width: number; height: number };
}

export interface TestBrowser {
  context: BrowserContext;
  /** A new page whose console errors and uncaught exceptions are collected. */
  newPage(): Promise<Page>;
  /** Console errors and page errors seen so far (minus the allowed ones), as text. */
  errors(): string[];
  /** Lets console errors matching `pattern` through, for a step that provokes them on purpose. */
  allowErrors<T>(pattern: RegExp, fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * Real Chromium (Debian's, at /usr/bin/chromium) in a fresh profile, headless, with nothing
 * reaching out to the internet. Every page it opens has its console errors and uncaught
 * exceptions collected: tests end with `expect(browser.errors()).toEqual([])`.
 */
export async function launchBrowser(opts: LaunchOptions = {}): Promise<TestBrowser> {
  const profile = mkdtempSync(path.join(os.tmpdir(), "stun-chromium-"));
  const args = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    ...(opts.webgpu ? ["--enable-unsafe-webgpu"] : []),
    ...(opts.args ?? []),
  ];
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args,
    viewport: opts.viewport ?? { width: 1280, height: 900 },
    acceptDownloads: true,
  });
  const errors: string[] = [];
  const allowed: RegExp[] = [];
  const record = (text: string) => {
    if (!allowed.some((p) => p.test(text))) errors.push(text);
  };
  const watch = (page: Page) => {
    page.on("console", (m: ConsoleMessage) => {
      if (m.type() === "error") record(`console.error on ${page.url()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => record(`uncaught on ${page.url()}: ${e.message}`));
  };
  context.pages().forEach(watch);
  context.on("page", watch);
  return {
    context,
    async newPage() {
      const existing = context.pages().find((p) => p.url() === "about:blank");
      return existing ?? (await context.newPage());
    },
    errors: () => [...errors],
    async allowErrors(pattern, fn) {
      allowed.push(pattern);
      try {
        return await fn();
      } finally {
        allowed.splice(allowed.indexOf(pattern), 1);
      }
    },
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
