import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { buildMlp } from "@stun/testkit";
import { api, float32Of, toJsonTensor, uploadModel, waitTask } from "../../server/test/support/api";
import { launchBrowser, type TestBrowser } from "./support/browser";
import { ARTIFACTS, startWebNetwork, type TestNetwork } from "./support/network";

const DOCS_SCREENSHOTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../docs/screenshots");
const MODEL_FILE = /\/api\/v1\/models\/[^/]+\/file$/;

/**
 * The Contribute tab in real Chromium against the real server: the page's worker registers as a
 * browser provider (onnxruntime-web from the server's /ort/), takes tasks a requester submits over
 * REST and answers them over the provider protocol. WASM and WebGPU (SwiftShader) backends, a
 * redundant task shared with a native provider, and a reload that keeps the model cache.
 * Screenshots land in test/artifacts; the online one is docs/screenshots/provide.png (README),
 * written when missing or with STUN_UPDATE_SCREENSHOTS=1.
 */
describe("web app: Contribute tab (browser provider)", () => {
  let net: TestNetwork;
  let wasmBrowser: TestBrowser;
  let gpuBrowser: TestBrowser | undefined;
  let page: Page;
  let modelId: string;
  let wasmProviderId: string;
  /** Model downloads the WASM page's worker made (page.on("request") sees its worker's fetches). */
  const downloads: string[] = [];

  const mlp = buildMlp({ inputSize: 784, hidden: [512, 256], outputSize: 10, seed: 5, batch: 1 });
  const input = (seed: number) => Float32Array.from({ length: 784 }, (_, i) => Math.sin(i * 0.07 + seed));
  const submit = async (x: Float32Array, extra: Record<string, unknown> = {}) => {
    const res = await api(net.url, "POST", "/tasks", {
      key: net.apiKey,
      json: { modelId, inputs: { x: toJsonTensor({ dtype: "float32", dims: [1, 784], data: new Uint8Array(x.buffer) }) }, ...extra },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    return res.body.id as string;
  };
  const expectMatches = (done: { outputs: { y: Parameters<typeof float32Of>[0] } }, x: Float32Array) => {
    const y = Array.from(float32Of(done.outputs.y));
    const ref = Array.from(mlp.forward(x, 1));
    expect(y).toHaveLength(10);
    y.forEach((v, i) => expect(Math.abs(v - ref[i]!)).toBeLessThanOrEqual(1e-4 + 1e-3 * Math.abs(ref[i]!)));
  };
  const status = (p: Page) => p.getByTestId("provider-status").getAttribute("data-status");
  const waitStatus = async (p: Page, want: string, timeout = 90_000) => {
    await expect.poll(() => status(p), { timeout, interval: 200 }).toBe(want);
  };
  const shot = async (p: Page, name: string, docs = false) => {
    await p.evaluate(() => window.scrollTo(0, 0));
    const file = path.join(ARTIFACTS, `${name}.png`);
    await p.screenshot({ path: file, fullPage: true });
    // The README's copy is refreshed only when missing or with STUN_UPDATE_SCREENSHOTS=1, so a test run leaves git clean.
    const docsFile = path.join(DOCS_SCREENSHOTS, `${name.replace(/-online$/, "")}.png`);
    if (docs && (process.env.STUN_UPDATE_SCREENSHOTS === "1" || !existsSync(docsFile))) {
      mkdirSync(DOCS_SCREENSHOTS, { recursive: true });
      copyFileSync(file, docsFile);
    }
  };
  const signIn = async (p: Page, key = net.providerApiKey) => {
    await p.evaluate((k) => window.localStorage.setItem("stun.apiKey", k), key);
  };

  beforeAll(async () => {
    net = await startWebNetwork({ providers: 0 });
    modelId = await uploadModel(net.url, net.apiKey, mlp.bytes, "mlp-784");
    wasmBrowser = await launchBrowser();
    page = await wasmBrowser.newPage();
    page.on("request", (r) => {
      if (MODEL_FILE.test(new URL(r.url()).pathname)) downloads.push(r.url());
    });
  });
  afterAll(async () => {
    await gpuBrowser?.close();
    await wasmBrowser?.close();
    await net?.close();
  });

  it("runs a requester's task on WASM in a Web Worker; outputs match onnxruntime-node's reference", async () => {
    // Signed out: the tab says so and links to sign-in.
    await page.goto(`${net.url}/provide?backend=wasm`);
    await waitStatus(page, "signed-out");
    expect(
      await page
        .getByRole("link", { name: /sign in/i })
        .first()
        .getAttribute("href"),
    ).toBe("/signin");

    await signIn(page);
    await page.goto(`${net.url}/provide?backend=wasm`);
    await waitStatus(page, "idle");
    await expect.poll(() => page.getByTestId("stake").textContent()).toBe("1,000,000");
    await shot(page, "provide-idle");

    await page.getByRole("button", { name: "Start contributing" }).click();
    await waitStatus(page, "online");
    expect(await page.getByTestId("backend").textContent()).toBe("WASM × 1");
    expect(await page.getByTestId("backend-reason").textContent()).toMatch(/WASM/);

    const x = input(1);
    const done = await waitTask(net.url, net.apiKey, await submit(x), 60);
    expect(done.status, JSON.stringify(done.error)).toBe("completed");
    expect(done.verification.executions).toHaveLength(1);
    expect(done.verification.executions[0]).toMatchObject({ backend: "wasm", status: "completed", verdict: "accepted" });
    expectMatches(done, x);
    wasmProviderId = done.verification.executions[0].providerId;

    const providers = (await api(net.url, "GET", "/providers", { key: net.apiKey })).body.providers as Array<{ id: string; kind: string; backend: string; specs: { benchmarkIps?: number } }>;
    const me = providers.find((p) => p.id === wasmProviderId);
    expect(me).toMatchObject({ kind: "browser", backend: "wasm" });
    expect(me?.specs.benchmarkIps).toBeGreaterThan(0);

    // A few more, so the counters in the screenshot are live ones.
    const more = await Promise.all([2, 3, 4, 5, 6].map(async (s) => waitTask(net.url, net.apiKey, await submit(input(s)), 60)));
    expect(more.map((t) => t.status)).toEqual(Array(5).fill("completed"));
    await expect.poll(() => page.getByTestId("tasks-done").textContent(), { timeout: 10_000 }).toBe("6");
    await expect.poll(async () => Number((await page.getByTestId("earned").textContent())?.replace(/,/g, "")), { timeout: 15_000 }).toBeGreaterThan(0);
    expect(downloads).toHaveLength(1); // six tasks, one download
    await shot(page, "provide-online", true);
    expect(wasmBrowser.errors()).toEqual([]);
  });

  it("runs on WebGPU (SwiftShader adapter) when the backend is webgpu; a new account is funded and staked in local mode", async () => {
    // A fresh account with no stake: in local mode the tab funds and stakes a little by itself.
    const fresh = await api(net.url, "POST", "/accounts");
    expect(fresh.status).toBe(201);
    gpuBrowser = await launchBrowser({ webgpu: true });
    const gpuPage = await gpuBrowser.newPage();
    await gpuPage.goto(`${net.url}/provide`);
    await signIn(gpuPage, fresh.body.apiKey);
    await gpuPage.goto(`${net.url}/provide?backend=webgpu`);
    await waitStatus(gpuPage, "idle");
    await expect.poll(() => gpuPage.getByTestId("stake").textContent()).toBe("0");
    await gpuPage.getByRole("button", { name: "Start contributing" }).click();
    await waitStatus(gpuPage, "online");
    expect(await gpuPage.getByTestId("backend-reason").textContent()).toBe("WebGPU adapter: SwiftShader (fallback)");
    expect(await gpuPage.getByTestId("backend").textContent()).toBe("WebGPU");
    expect(await gpuPage.getByTestId("stake").textContent()).toBe("1,000");
    expect(
      await gpuPage
        .getByText(/Local mode: added 1000 test units from the faucet and staked them/)
        .first()
        .isVisible(),
    ).toBe(true);
    const account = (await api(net.url, "GET", "/accounts/me", { key: fresh.body.apiKey })).body;
    expect(account).toMatchObject({ stake: "1000", balance: "0" });

    const x = input(7);
    const done = await waitTask(net.url, net.apiKey, await submit(x, { requirements: { backend: "webgpu" } }), 90);
    expect(done.status, JSON.stringify(done.error)).toBe("completed");
    expect(done.verification.executions[0]).toMatchObject({ backend: "webgpu", status: "completed", verdict: "accepted" });
    expect(done.verification.executions[0].providerId).not.toBe(wasmProviderId);
    expectMatches(done, x);
    await expect.poll(() => gpuPage.getByTestId("tasks-done").textContent(), { timeout: 10_000 }).toBe("1");
    await shot(gpuPage, "provide-webgpu");

    // Pause leaves the network (the next test wants only the WASM tab and a native provider).
    await gpuPage.getByRole("button", { name: "Pause contributing" }).click();
    await waitStatus(gpuPage, "paused", 30_000);
    expect(gpuBrowser.errors()).toEqual([]);
  });

  it("shares a redundant task with a native provider: both executions accepted", async () => {
    // Another operator than the tab's (net.providerApiKey): one operator never checks itself.
    const native = await net.addProvider({ name: "native-1", account: await net.addProviderAccount() });
    const x = input(11);
    const done = await waitTask(net.url, net.apiKey, await submit(x, { verification: { mode: "redundant", replicas: 2 } }), 90);
    expect(done.status, JSON.stringify(done.error)).toBe("completed");
    expect(done.verification).toMatchObject({ mode: "redundant", replicas: 2, outcome: "accepted" });
    const execs = done.verification.executions as Array<{ providerId: string; backend: string; verdict: string }>;
    expect(execs).toHaveLength(2);
    expect(execs.map((e) => e.verdict)).toEqual(["accepted", "accepted"]);
    expect(execs.map((e) => e.backend).sort()).toEqual(["cpu", "wasm"]);
    expect(execs.find((e) => e.backend === "wasm")?.providerId).toBe(wasmProviderId);
    expect(done.receipt.providers).toHaveLength(2);
    expectMatches(done, x);
    // The tab counts a task once the server has acked its result, which can be after the task
    // completed for the requester: wait for it, so the next test starts from a settled counter.
    await expect.poll(() => page.getByTestId("tasks-done").textContent(), { timeout: 10_000 }).toBe("7");
    await native.kill();
    expect(wasmBrowser.errors()).toEqual([]);
  });

  it("keeps contributing while the user browses other pages of the app", async () => {
    const doneBefore = Number(await page.getByTestId("tasks-done").textContent());
    await page.getByRole("navigation").getByRole("link", { name: "Tasks", exact: true }).click();
    await page.waitForURL(/\/tasks$/);
    const x = input(12);
    const done = await waitTask(net.url, net.apiKey, await submit(x), 60);
    expect(done.status, JSON.stringify(done.error)).toBe("completed");
    expect(done.verification.executions[0]).toMatchObject({ providerId: wasmProviderId, backend: "wasm" });
    await page.getByRole("navigation").getByRole("link", { name: "Contribute", exact: true }).click();
    await page.waitForURL(/\/provide$/);
    expect(await status(page)).toBe("online");
    await expect.poll(() => page.getByTestId("tasks-done").textContent()).toBe(String(doneBefore + 1));
    expect(wasmBrowser.errors()).toEqual([]);
  });

  it("comes back after a reload as the same provider, with the model from the browser's cache", async () => {
    const before = downloads.length;
    expect(before).toBe(1);
    await page.reload();
    // It was contributing before the reload: it resumes on its own, under the same name.
    await waitStatus(page, "online");
    await expect.poll(() => page.getByText("Resumed automatically").isVisible()).toBe(true);
    const x = input(13);
    const done = await waitTask(net.url, net.apiKey, await submit(x), 60);
    expect(done.status, JSON.stringify(done.error)).toBe("completed");
    expect(done.verification.executions[0]).toMatchObject({ providerId: wasmProviderId, backend: "wasm" });
    expectMatches(done, x);
    expect(downloads.length - before).toBe(0);
    await expect.poll(() => page.getByText(/1 from cache/).isVisible(), { timeout: 10_000 }).toBe(true);
    expect(wasmBrowser.errors()).toEqual([]);
  });
});
