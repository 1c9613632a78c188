import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { encodeNpy, parseNpy, toTypedArray } from "@stun/shared";
import { GraphBuilder, attr, buildMlp } from "@stun/testkit";
import { launchBrowser, type TestBrowser } from "./support/browser";
import { ARTIFACTS, startWebNetwork, type TestNetwork } from "./support/network";

const DOCS_SCREENSHOTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../docs/screenshots");

/** image [1,3,8,8] float32 → mean per channel [1,3]: an image-shaped input with a checkable answer. */
function buildChannelMeanModel(): Uint8Array {
  const g = new GraphBuilder("channel_mean");
  g.input("image", "float32", [1, 3, 8, 8]);
  g.op("ReduceMean", ["image"], { axes: attr.ints([2, 3]), keepdims: attr.int(0) }, "mean");
  g.output("mean", "float32", [1, 3]);
  return g.build();
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-4 + 1e-3 * Math.abs(b);

/**
 * The requester's path through the web app in real Chromium against the real server and a real
 * native provider: sign in, upload a model, run it from the generated form, read the verified
 * outputs; bad uploads and bad inputs say what is wrong. Screenshots of every page land in
 * test/artifacts; home and network also go to docs/screenshots for the README when missing there
 * or with STUN_UPDATE_SCREENSHOTS=1.
 */
describe("web app: requester", () => {
  let net: TestNetwork;
  let browser: TestBrowser;
  let page: Page;
  let tmp: string;
  const mlp = buildMlp({ inputSize: 4, hidden: [8], outputSize: 3, seed: 3 });
  const x = new Float32Array([1, 2, 3, 4]);
  const expected = Array.from(mlp.forward(x, 1));
  let modelUrl = "";

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), "stun-web-test-"));
    net = await startWebNetwork({ providers: 1 });
    browser = await launchBrowser();
    page = await browser.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await net?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const shot = async (name: string, docs = false) => {
    await page.evaluate(() => window.scrollTo(0, 0));
    const file = path.join(ARTIFACTS, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    // The README's copies change only when asked (or when missing), so test runs leave git clean.
    if (docs && (process.env.STUN_UPDATE_SCREENSHOTS === "1" || !existsSync(path.join(DOCS_SCREENSHOTS, `${name}.png`)))) {
      mkdirSync(DOCS_SCREENSHOTS, { recursive: true });
      copyFileSync(file, path.join(DOCS_SCREENSHOTS, `${name}.png`));
    }
  };

  it("serves the app with cross-origin isolation, and asks to sign in", async () => {
    const started = Date.now();
    const res = await page.goto(`${net.url}/`, { waitUntil: "load" });
    const loadMs = Date.now() - started;
    expect(res?.status()).toBe(200);
    expect(res?.headers()["cross-origin-embedder-policy"]).toBe("require-corp");
    expect(await page.evaluate(() => window.crossOriginIsolated)).toBe(true);
    await expect.poll(() => page.getByText("Sign in to see the network").isVisible()).toBe(true);
    const transferred = await page.evaluate(() =>
      [...performance.getEntriesByType("navigation"), ...performance.getEntriesByType("resource")].reduce((n, e) => n + (e as PerformanceResourceTiming).transferSize, 0),
    );
    console.log(`home page load (cold cache, signed out): ${loadMs} ms, ${Math.round(transferred / 1024)} KiB transferred`);
    expect(browser.errors()).toEqual([]);
  });

  it("signs in with an API key (a wrong one is refused)", async () => {
    await page.goto(`${net.url}/signin`);
    const key = page.getByLabel("API key");
    await key.fill("stun_not_a_real_key");
    await browser.allowErrors(/status of 401/, async () => {
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByText("This key is not known to this server").waitFor();
    });
    await key.fill(net.apiKey);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/\/models$/);
    await expect.poll(() => page.getByTestId("nav-balance").textContent()).toBe("1,000,000,000");
    expect(browser.errors()).toEqual([]);
  });

  it("refuses a file that is not an ONNX model, with the server's code and message", async () => {
    const bad = path.join(tmp, "garbage.onnx");
    writeFileSync(bad, Buffer.from("this is not an onnx model at all"));
    await page.getByLabel("ONNX model file").setInputFiles(bad);
    await browser.allowErrors(/status of 400/, async () => {
      await page.getByRole("button", { name: "Upload" }).click();
      const alert = page.getByRole("alert").filter({ hasText: "Upload rejected" });
      await alert.waitFor();
      expect(await alert.textContent()).toContain("MODEL_INVALID");
    });
    expect(browser.errors()).toEqual([]);
  });

  it("uploads a model and shows its signature", async () => {
    const file = path.join(tmp, "mlp.onnx");
    writeFileSync(file, mlp.bytes);
    await page.getByLabel("ONNX model file").setInputFiles(file);
    await page.getByLabel(/^Name/).fill("mlp-demo");
    await page.getByRole("button", { name: "Upload" }).click();
    await page.getByText("Uploaded mlp-demo").waitFor();
    await page.getByRole("list", { name: "Models" }).getByRole("link", { name: "mlp-demo", exact: true }).waitFor();
    await shot("models");
    await page.getByRole("link", { name: "Open and run" }).click();
    await page.waitForURL(/\/model\?id=mdl_/);
    modelUrl = page.url();
    const signature = page.locator("#signature");
    await signature.getByRole("table", { name: "Inputs" }).waitFor();
    const inputs = await signature.getByRole("table", { name: "Inputs" }).innerText();
    expect(inputs).toMatch(/x\s+float32\s+\[N, 4\]/);
    expect(await signature.getByRole("table", { name: "Outputs" }).innerText()).toMatch(/y\s+float32\s+\[N, 3\]/);
    expect(browser.errors()).toEqual([]);
  });

  it("catches inputs of the wrong length before sending them", async () => {
    await page.getByLabel("Values for x").fill("1 2 3 4 5");
    await page.getByRole("button", { name: "Run task" }).click();
    const error = page.getByText(/INPUT_SIZE_MISMATCH/);
    await error.waitFor();
    expect(await page.locator("fieldset").first().innerText()).toContain("5 values do not fill shape [N, 4]: give a multiple of 4");
    expect(page.url()).toBe(modelUrl);
    expect(await page.getByLabel("Values for x").getAttribute("aria-invalid")).toBe("true");
    await page.getByLabel("Values for x").fill("[[1, 2, 3]]");
    await page.getByRole("button", { name: "Run task" }).click();
    await page.getByText(/INPUT_SHAPE_MISMATCH.*dimension 1 is 3, not 4/).waitFor();
    expect(browser.errors()).toEqual([]);
  });

  it("runs a task from the generated form and shows the verified outputs live", async () => {
    await page.getByLabel("Values for x").fill("1, 2, 3, 4");
    await shot("model");
    // The task page hears the task's statuses pushed (tasks.watch over SSE) and never long-polls.
    const trpcCalls: string[] = [];
    const record = (r: { url(): string }) => {
      if (r.url().includes("/trpc/")) trpcCalls.push(decodeURIComponent(r.url()));
    };
    page.on("request", record);
    await page.getByRole("button", { name: "Run task" }).click();
    await page.waitForURL(/\/task\?id=tsk_/);
    const status = page.getByTestId("task-status");
    await expect.poll(() => status.getAttribute("data-status"), { timeout: 30_000 }).toBe("completed");
    page.off("request", record);
    expect(trpcCalls.some((u) => u.includes("/trpc/tasks.watch"))).toBe(true);
    expect(trpcCalls.filter((u) => u.includes("tasks.get") && /"wait":[1-9]/.test(u))).toEqual([]);
    const values = (await page.getByTestId("values-y").locator("td").allInnerTexts()).map(Number);
    expect(values).toHaveLength(3);
    values.forEach((v, i) => expect(close(v, expected[i]!), `y[${i}] = ${v}, expected ${expected[i]}`).toBe(true));
    // Top-k of the classifier-like [1, 3] output: the argmax first.
    const argmax = expected.indexOf(Math.max(...expected));
    expect(await page.getByTestId("topk-y").locator("tbody tr").first().innerText()).toContain(`#${argmax}`);
    // The .npy download holds the exact float32 outputs.
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download .npy of y" }).click()]);
    const npyPath = path.join(tmp, "y.npy");
    await download.saveAs(npyPath);
    const y = toTypedArray(parseNpy(new Uint8Array(readFileSync(npyPath))));
    expect(y.dims).toEqual([1, 3]);
    Array.from(y.data as Float32Array).forEach((v, i) => expect(close(v, expected[i]!)).toBe(true));
    // Verification and receipt.
    expect(await page.locator("#verification").innerText()).toMatch(/accepted/);
    const receipt = await page.locator("#receipt").innerText();
    expect(receipt).toContain("Output digest");
    expect(receipt).toMatch(/QA check/);
    await shot("task");
    expect(browser.errors()).toEqual([]);
  });

  it("takes an input from a .npy file", async () => {
    await page.goto(modelUrl);
    await page.getByRole("radiogroup", { name: "Input source for x" }).getByText(".npy file").click();
    const npy = path.join(tmp, "x.npy");
    const batch = new Float32Array([1, 2, 3, 4, -1, 0.5, 2, 0]);
    writeFileSync(npy, encodeNpy({ dtype: "float32", dims: [2, 4], data: new Uint8Array(batch.buffer) }));
    await page.getByLabel(".npy file for x").setInputFiles(npy);
    await page.getByText("x.npy → float32 [2, 4]").waitFor();
    await page.getByRole("radio", { name: /None/ }).check();
    await page.getByRole("button", { name: "Run task" }).click();
    await page.waitForURL(/\/task\?id=tsk_/);
    await expect.poll(() => page.getByTestId("task-status").getAttribute("data-status"), { timeout: 30_000 }).toBe("completed");
    const values = (await page.getByTestId("values-y").locator("td").allInnerTexts()).map(Number);
    const want = Array.from(mlp.forward(batch, 2));
    expect(values).toHaveLength(6);
    values.forEach((v, i) => expect(close(v, want[i]!)).toBe(true));
    expect(browser.errors()).toEqual([]);
  });

  it("turns a picked image into an NCHW tensor", async () => {
    const res = await fetch(`${net.url}/api/v1/models?name=channel-mean`, {
      method: "POST",
      headers: { authorization: `Bearer ${net.apiKey}`, "content-type": "application/octet-stream" },
      body: Buffer.from(buildChannelMeanModel()),
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    await page.goto(`${net.url}/model?id=${id}`);
    // A 20×12 PNG of one colour, made by the browser itself.
    const png = await page.evaluate(() => {
      const c = document.createElement("canvas");
      c.width = 20;
      c.height = 12;
      const ctx = c.getContext("2d")!;
      ctx.fillStyle = "rgb(255, 0, 102)";
      ctx.fillRect(0, 0, 20, 12);
      return c.toDataURL("image/png").split(",")[1]!;
    });
    await page.getByRole("radiogroup", { name: "Input source for image" }).getByText("Image").click();
    await page.getByLabel("Image for image").setInputFiles({ name: "pink.png", mimeType: "image/png", buffer: Buffer.from(png, "base64") });
    await page.getByText("pink.png → float32 [1, 3, 8, 8]").waitFor();
    await page.getByRole("button", { name: "Run task" }).click();
    await page.waitForURL(/\/task\?id=tsk_/);
    await expect.poll(() => page.getByTestId("task-status").getAttribute("data-status"), { timeout: 30_000 }).toBe("completed");
    const values = (await page.getByTestId("values-mean").locator("td").allInnerTexts()).map(Number);
    expect(values.map((v) => Math.round(v * 255))).toEqual([255, 0, 102]);
    expect(browser.errors()).toEqual([]);
  });

  it("lists the tasks, the account's ledger, the network dashboard and the marketplace home", async () => {
    await page.goto(`${net.url}/tasks`);
    await page.getByRole("table", { name: "Your tasks, newest first" }).waitFor();
    expect(await page.getByRole("table", { name: "Your tasks, newest first" }).locator("tbody tr").count()).toBe(3);
    await page.getByLabel("Status").selectOption("failed");
    await page.getByText("No failed tasks").waitFor();

    await page.goto(`${net.url}/account`);
    await page.getByRole("table", { name: "Ledger entries, newest first" }).waitFor();
    expect(await page.getByRole("table", { name: "Ledger entries, newest first" }).innerText()).toMatch(/hold/);
    await shot("account");

    await page.goto(`${net.url}/network`);
    await expect.poll(() => page.getByTestId("providers-online").textContent()).toBe("1");
    await page.getByRole("table", { name: "Providers online" }).getByText("p1").waitFor();
    expect(await page.locator("#throughput").innerText()).toMatch(/completed \(3\)/);
    expect(await page.locator("#latency").innerText()).toMatch(/3 tasks completed/);
    await shot("network", true);

    await page.goto(`${net.url}/`);
    await page.getByRole("list", { name: "Models" }).getByRole("link", { name: "mlp-demo", exact: true }).waitFor();
    await expect.poll(() => page.getByText("Tasks completed").locator("..").innerText()).toMatch(/3/);
    await shot("home", true);
    expect(browser.errors()).toEqual([]);
  });

  it("runs a zk task from the form: the proving fee is shown, and the receipt names the proof", async () => {
    await page.goto(modelUrl);
    await page.getByLabel("Values for x").fill("0.5, -1, 2, 0.25");
    await page.getByRole("radio", { name: /Zero-knowledge/ }).check();
    // The model's circuit is built on demand; the form shows its state until it is ready.
    await expect.poll(() => page.getByTestId("zk-status").getAttribute("data-status"), { timeout: 240_000 }).toBe("ready");
    expect(await page.getByTestId("zk-status").innerText()).toMatch(/proving fee \d+ per execution/);
    await page.getByRole("button", { name: "Run task" }).click();
    await page.waitForURL(/\/task\?id=tsk_/);
    await expect.poll(() => page.getByTestId("task-status").getAttribute("data-status"), { timeout: 60_000 }).toBe("completed");
    const values = (await page.getByTestId("values-y").locator("td").allInnerTexts()).map(Number);
    const want = Array.from(mlp.forward(new Float32Array([0.5, -1, 2, 0.25]), 1));
    values.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(1e-3));
    const receipt = await page.locator("#receipt").innerText();
    expect(receipt).toMatch(/zero-knowledge proof/);
    expect(receipt).toContain("Model hash (zk)");
    expect(browser.errors()).toEqual([]);
  });

  it("signs out, creates a local account from the sign-in page, and tops it up from the faucet", async () => {
    await page.goto(`${net.url}/account`);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/signin$/);
    await page.getByRole("link", { name: "Sign in" }).waitFor();
    await page.getByRole("button", { name: "Create a local account" }).click();
    expect(await page.getByTestId("new-api-key").textContent()).toMatch(/^stun_\S+$/);
    await expect.poll(() => page.getByTestId("nav-balance").textContent()).toBe("1,000,000");
    await page.getByRole("button", { name: "Continue" }).click();
    await page.waitForURL(/\/models$/);
    await page.goto(`${net.url}/account`);
    await page.getByRole("button", { name: "Add 1,000,000 test units" }).click();
    await expect.poll(() => page.getByTestId("balance").textContent()).toBe("2,000,000");
    expect(await page.getByRole("table", { name: "Ledger entries, newest first" }).locator("tbody tr").count()).toBe(2);
    expect(browser.errors()).toEqual([]);
  });
});
