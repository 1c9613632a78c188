import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { launchBrowser, type TestBrowser } from "./support/browser";
import { startWebNetwork, type TestNetwork } from "./support/network";

/**
 * The sign-in page's `next` parameter cannot send a signed-in user to another site (an open
 * redirect lends this origin's name to phishing), and the pages run under their
 * Content-Security-Policy: the app works with zero violations, an injected inline script does not run.
 */
describe("web app: sign-in redirect and Content-Security-Policy", () => {
  let net: TestNetwork;
  let browser: TestBrowser;
  let page: Page;

  beforeAll(async () => {
    net = await startWebNetwork({ providers: 0 });
    browser = await launchBrowser();
    page = await browser.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await net?.close();
  });

  /** Signs in through /signin?next=<next> and returns where the app went. */
  const signInWithNext = async (next: string): Promise<URL> => {
    await page.goto(`${net.url}/signin?next=${encodeURIComponent(next)}`);
    await page.getByLabel("API key").fill(net.apiKey);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL((u) => u.pathname !== "/signin");
    return new URL(page.url());
  };

  it.each(["/\\evil.example", "//evil.example", "https://evil.example/models", "/\\/evil.example/x", "javascript:alert(1)"])("next=%s stays on this origin (lands on /models)", async (next) => {
    const landed = await signInWithNext(next);
    expect(landed.origin).toBe(new URL(net.url).origin);
    expect(landed.pathname).toBe("/models");
  });

  it("a same-origin next keeps its path, query and fragment", async () => {
    const landed = await signInWithNext("/tasks?status=completed#top");
    expect(landed.origin).toBe(new URL(net.url).origin);
    expect(`${landed.pathname}${landed.search}${landed.hash}`).toBe("/tasks?status=completed#top");
  });

  it("pages carry the policy; an injected inline script is refused; no violations otherwise", async () => {
    const res = await page.goto(`${net.url}/models`);
    expect(res?.headers()["content-security-policy"]).toMatch(/frame-ancestors 'none'/);
    expect(res?.headers()["x-frame-options"]).toBe("DENY");
    await page.getByRole("heading", { name: "Models", exact: true, level: 1 }).waitFor();
    await browser.allowErrors(/Content Security Policy/, async () => {
      await page.addScriptTag({ content: "window.__injected = true;" }).catch(() => undefined);
    });
    expect(await page.evaluate(() => (window as { __injected?: boolean }).__injected)).toBeUndefined();
    expect(browser.errors()).toEqual([]);
  });
});
