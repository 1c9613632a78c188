import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { buildMlp } from "@stun/testkit";
import { api, float32Of } from "../../server/test/support/api";
import { launchBrowser, type TestBrowser } from "./support/browser";
import { ARTIFACTS, startWebNetwork, type TestNetwork } from "./support/network";
import { publishScreenshot } from "./support/docs-screenshots";

/** The tolerance of the issue: |got − ref| ≤ 1e-4 + 1e-3·|ref|. */
const close = (got: number, ref: number) => Math.abs(got - ref) <= 1e-4 + 1e-3 * Math.abs(ref);

/**
 * The whole marketplace in the browser, with no native provider anywhere: a requester signs in,
 * uploads a model, runs it from the generated form and watches the task page, while a second
 * browser profile (its own localStorage: signed in with the provider account's key) runs the
 * Contribute tab on WASM and is the only provider on the network. The outputs the task page shows
 * must match onnxruntime-node run here on the same model bytes and input. The server runs with a
 * non-default SLASH_MULTIPLE, which the Contribute tab's stake card must show (/web-config.json).
 * Screenshots of both pages land in test/artifacts (marketplace-requester.png, marketplace-provider.png);
 * the requester's task page is also the README's docs/screenshots/task.png, written when missing or
 * with STUN_UPDATE_SCREENSHOTS=1.
 */
describe("web app: a requester's task runs on a browser provider (no native provider)", () => {
  const SLASH_MULTIPLE = "20";
  let net: TestNetwork;
  let requesterBrowser: TestBrowser;
  let providerBrowser: TestBrowser;
  let requester: Page;
  let provider: Page;
  let tmp: string;
  const mlp = buildMlp({ inputSize: 8, hidden: [16], outputSize: 4, seed: 21 });
  const x = Float32Array.from([0.5, -1, 2, 0.25, -0.75, 1.5, 3, -2]);
  let reference: number[] = [];
  let browserProviderId = "";
  let taskId = "";

  const providerStatus = (p: Page) => p.getByTestId("provider-status").getAttribute("data-status");
  const shot = async (p: Page, name: string, docsName?: string) => {
    await p.evaluate(() => window.scrollTo(0, 0));
    const file = path.join(ARTIFACTS, `${name}.png`);
    await p.screenshot({ path: file, fullPage: true });
    if (docsName) publishScreenshot(file, docsName);
  };
  /** Signs `p` in through /signin with `key`; the app then opens /models. */
  const signIn = async (p: Page, key: string) => {
    await p.goto(`${net.url}/signin`);
    await p.getByLabel("API key").fill(key);
    await p.getByRole("button", { name: "Sign in" }).click();
    await p.waitForURL(/\/models$/);
  };

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), "stun-web-market-"));
    // The reference: onnxruntime-node on the very bytes the requester uploads.
    const session = await ort.InferenceSession.create(mlp.bytes);
    try {
      const out = await session.run({ x: new ort.Tensor("float32", x, [1, 8]) });
      reference = Array.from(out.y!.data as Float32Array);
    } finally {
      await session.release();
    }
    net = await startWebNetwork({ providers: 0, env: { SLASH_MULTIPLE } });
    // Two persistent contexts (two profiles): each page keeps its own signed-in key in localStorage.
    requesterBrowser = await launchBrowser();
    providerBrowser = await launchBrowser();
    requester = await requesterBrowser.newPage();
    provider = await providerBrowser.newPage();
  });
  afterAll(async () => {
    await providerBrowser?.close();
    await requesterBrowser?.close();
    await net?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("the Contribute tab, signed in with the provider account, goes online on WASM as the only provider", async () => {
    expect((await api(net.url, "GET", "/providers", { key: net.apiKey })).body.providers).toEqual([]);
    await signIn(provider, net.providerApiKey);
    await expect.poll(() => provider.getByTestId("nav-balance").textContent()).toBe("0"); // all of it is staked
    await provider.goto(`${net.url}/provide?backend=wasm`);
    await expect.poll(() => providerStatus(provider), { timeout: 30_000 }).toBe("idle");
    await expect.poll(() => provider.getByTestId("stake").textContent()).toBe("1,000,000");
    // The stake card uses the server's multiple, not a built-in 10.
    expect(await (await fetch(`${net.url}/web-config.json`)).json()).toMatchObject({ slashMultiple: SLASH_MULTIPLE });
    await expect.poll(() => provider.getByTestId("stake-multiple").textContent()).toBe(SLASH_MULTIPLE);
    expect(await provider.locator("#stake").innerText()).toMatch(/at price 1: 20\b/);

    // A per-unit price on top of the flat one (docs/PRICING.md): this tiny model is 1 unit, so a run costs 1 + 2.
    await provider.getByLabel("Price per MiB of model").fill("2");
    await provider.getByRole("button", { name: "Start contributing" }).click();
    await expect.poll(() => providerStatus(provider), { timeout: 90_000, interval: 200 }).toBe("online");
    expect(await provider.getByTestId("backend").textContent()).toMatch(/^WASM × \d+$/);

    const providers = (await api(net.url, "GET", "/providers", { key: net.apiKey })).body.providers as Array<{ id: string; kind: string; backend: string }>;
    expect(providers).toHaveLength(1);
    expect(providers[0]).toMatchObject({ kind: "browser", backend: "wasm", price: "1", pricePerUnit: "2" });
    browserProviderId = providers[0]!.id;
    expect(providerBrowser.errors()).toEqual([]);
  });

  it("the requester signs in, uploads a model and runs it from the form; the task page shows the browser provider's outputs", async () => {
    await signIn(requester, net.apiKey);
    await expect.poll(() => requester.getByTestId("nav-balance").textContent()).toBe("1,000,000,000");

    const file = path.join(tmp, "mlp-8-16-4.onnx");
    writeFileSync(file, mlp.bytes);
    await requester.getByLabel("ONNX model file").setInputFiles(file);
    await requester.getByLabel(/^Name/).fill("mlp-8-16-4");
    await requester.getByRole("button", { name: "Upload" }).click();
    await requester.getByText("Uploaded mlp-8-16-4").waitFor();
    await requester.getByRole("link", { name: "Open and run" }).click();
    await requester.waitForURL(/\/model\?id=mdl_/);
    await requester.locator("#signature").getByRole("table", { name: "Inputs" }).waitFor();

    await requester.getByLabel("Values for x").fill(`[[${Array.from(x).join(", ")}]]`);
    await requester.getByRole("button", { name: "Run task" }).click();
    await requester.waitForURL(/\/task\?id=tsk_/);
    taskId = new URL(requester.url()).searchParams.get("id")!;
    await expect.poll(() => requester.getByTestId("task-status").getAttribute("data-status"), { timeout: 120_000, interval: 250 }).toBe("completed");

    // The values on the page, against onnxruntime-node's.
    const shown = (await requester.getByTestId("values-y").locator("td").allInnerTexts()).map(Number);
    expect(shown).toHaveLength(4);
    shown.forEach((v, i) => expect(close(v, reference[i]!), `y[${i}] shown ${v}, onnxruntime-node ${reference[i]}`).toBe(true));
    // The execution table: one run, on the browser provider's WASM backend.
    const executions = requester.locator("#verification").getByRole("table", { name: "Executions" });
    await executions.waitFor();
    expect(await executions.locator("tbody tr").count()).toBe(1);
    const row = await executions.locator("tbody tr").first().innerText();
    expect(row).toContain(browserProviderId);
    expect(row).toMatch(/\bwasm\b/);
    expect(row).toMatch(/completed/);

    // The same task over the API: exact float32 outputs and the execution's backend.
    const task = (await api(net.url, "GET", `/tasks/${taskId}`, { key: net.apiKey })).body;
    expect(task.status).toBe("completed");
    expect(task.verification.executions).toHaveLength(1);
    expect(task.verification.executions[0]).toMatchObject({ providerId: browserProviderId, backend: "wasm", status: "completed" });
    expect(task.receipt.providers).toEqual([expect.objectContaining({ providerId: browserProviderId, backend: "wasm" })]);
    const y = Array.from(float32Of(task.outputs.y));
    expect(y).toHaveLength(4);
    y.forEach((v, i) => expect(close(v, reference[i]!), `y[${i}] = ${v}, onnxruntime-node ${reference[i]}`).toBe(true));
    expect(requesterBrowser.errors()).toEqual([]);
  });

  it("the Contribute tab counts the task and its pay; screenshots of both pages; no console errors on either", async () => {
    await expect.poll(() => provider.getByTestId("tasks-done").textContent(), { timeout: 15_000 }).toBe("1");
    expect(await providerStatus(provider)).toBe("online");
    // Paid: cost 3 at the browser provider's price 1 + 2 per unit × 1 unit, all of it to the provider (the account is polled every 5 s).
    await expect.poll(() => provider.getByTestId("earned").textContent(), { timeout: 15_000 }).toBe("3");
    expect((await api(net.url, "GET", "/accounts/me", { key: net.providerApiKey })).body).toMatchObject({ balance: "3", stake: "1000000" });
    await shot(requester, "marketplace-requester", "task");
    await shot(provider, "marketplace-provider");
    expect(requesterBrowser.errors()).toEqual([]);
    expect(providerBrowser.errors()).toEqual([]);
  });
});
