import type { Page } from "playwright-core";

/**
 * Starts a module Web Worker at `url` in the page and returns a promise-returning call() to it:
 * one message at a time, answered `{ ok: true, … }` or `{ ok: false, error }` (the browser
 * benches' workers follow that shape). The page-side code is a string, so Node needs no DOM types.
 */
export async function workerCall(page: Page, url: string): Promise<<T>(message: unknown) => Promise<T>> {
  await page.evaluate(`(() => {
    const w = new Worker(${JSON.stringify(url)}, { type: "module" });
    let queue = Promise.resolve();
    globalThis.call = (m) =>
      (queue = queue.then(() => new Promise((resolve, reject) => {
        w.onmessage = (e) => (e.data.ok ? resolve(e.data) : reject(new Error(e.data.error)));
        w.postMessage(m);
      })));
  })()`);
  return <T>(message: unknown) => page.evaluate((m) => (globalThis as unknown as { call: (m: unknown) => Promise<unknown> }).call(m), message as never) as Promise<T>;
}
