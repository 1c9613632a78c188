import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as ort from "onnxruntime-node";
import type { Page, Request } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseNpy, toTypedArray } from "@stun/shared";
import { buildMlp } from "@stun/testkit";
import { launchBrowser, type TestBrowser } from "./support/browser";
import { ARTIFACTS, startWebNetwork, type TestNetwork } from "./support/network";

type ProviderProcess = Awaited<ReturnType<TestNetwork["addProvider"]>>;

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-4 + 1e-3 * Math.abs(b);

/**
 * A sealed (privacy "tee") task from the web app, in real Chromium against the real server and a
 * native provider in the simulated TEE (docs/TEE.md): the page verifies the provider's evidence
 * itself, refuses simulated evidence unless told to accept it (and then sends nothing), seals the
 * inputs in the page (the submit carries only ciphertext), and opens the sealed outputs with the
 * reply key kept in the tab; another tab without that key says it cannot read them.
 */
describe("web app: sealed task (Private, TEE)", () => {
  let net: TestNetwork;
  let tee: ProviderProcess;
  let browser: TestBrowser;
  let page: Page;
  let tmp: string;
  let modelId = "";
  const mlp = buildMlp({ inputSize: 8, hidden: [16], outputSize: 4, seed: 23 });
  // Values no other test uses, so their bytes are recognisable if they leaked into the request.
  const x = Float32Array.from([0.71875, -0.28125, 0.453125, -0.859375, 0.140625, 0.59375, -0.390625, 0.234375]);
  let want: number[] = [];
  let outName = "";

  const api = async (method: string, route: string, body?: unknown) => {
    const res = await fetch(`${net.url}/api/v1${route}`, {
      method,
      headers: { authorization: `Bearer ${net.apiKey}`, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  const taskCount = async () => ((await api("GET", "/tasks")).body.tasks as unknown[]).length;

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), "stun-web-sealed-"));
    net = await startWebNetwork({});
    tee = await net.addProvider({ name: "tee-sim", args: ["--tee", "simulated"] });
    const res = await fetch(`${net.url}/api/v1/models?name=sealed-mlp`, {
      method: "POST",
      headers: { authorization: `Bearer ${net.apiKey}`, "content-type": "application/octet-stream" },
      body: Buffer.from(mlp.bytes),
    });
    expect(res.status).toBe(201);
    modelId = ((await res.json()) as { id: string }).id;
    // The reference: bare onnxruntime-node on the same model and input.
    const session = await ort.InferenceSession.create(mlp.bytes);
    const ref = await session.run({ [session.inputNames[0]!]: new ort.Tensor("float32", x, [1, 8]) });
    outName = session.outputNames[0]!;
    want = Array.from(ref[outName]!.data as Float32Array);
    browser = await launchBrowser();
    page = await browser.newPage();
    await page.goto(`${net.url}/signin`);
    await page.getByLabel("API key").fill(net.apiKey);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/\/models$/);
  });
  afterAll(async () => {
    await browser?.close();
    await net?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  /** Every tasks.submit the page POSTs while `fn` runs, with its body. */
  const recordSubmits = async (fn: () => Promise<void>): Promise<string[]> => {
    const bodies: string[] = [];
    const record = (r: Request) => {
      if (r.method() === "POST" && r.url().includes("tasks.submit")) bodies.push(r.postData() ?? "");
    };
    page.on("request", record);
    try {
      await fn();
    } finally {
      page.off("request", record);
    }
    return bodies;
  };

  it("shows the provider's attestation on the network page, labelled simulated", async () => {
    await page.goto(`${net.url}/network`);
    const cell = page.getByRole("table", { name: "Providers online" }).getByTestId("tee-attestation");
    await expect.poll(() => cell.getAttribute("data-status"), { timeout: 20_000 }).toBe("attested");
    const text = await cell.innerText();
    expect(text).toContain("simulated");
    expect(text).toContain("SIMULATED TEE — development only, proves nothing");
    expect(browser.errors()).toEqual([]);
  });

  it("without 'accept simulated TEE' the page refuses the evidence (SIMULATED_NOT_ALLOWED) and submits nothing", async () => {
    await page.goto(`${net.url}/model?id=${modelId}`);
    await page.getByLabel("Values for x").fill(Array.from(x).join(", "));
    await page.getByRole("radio", { name: /Private \(TEE\)/ }).check();
    const select = page.getByLabel("Attested provider");
    await select.waitFor();
    expect(await select.locator("option").allInnerTexts()).toEqual([expect.stringContaining("SIMULATED TEE — development only, proves nothing")]);
    expect(await select.inputValue()).toBe(tee.providerId);
    const accept = page.getByLabel("Accept simulated TEE (development)");
    expect(await accept.isChecked()).toBe(false);
    const verification = page.getByTestId("tee-verification");
    await expect.poll(() => verification.getAttribute("data-state")).toBe("refused");
    expect(await verification.innerText()).toContain("SIMULATED_NOT_ALLOWED");

    const before = await taskCount();
    const submits = await recordSubmits(async () => {
      await page.getByRole("button", { name: "Run task" }).click();
      const alert = page.getByRole("alert").filter({ hasText: "Nothing was sent" });
      await alert.waitFor();
      expect(await alert.innerText()).toContain("SIMULATED_NOT_ALLOWED");
    });
    expect(submits).toEqual([]);
    expect(page.url()).toContain(`/model?id=${modelId}`);
    expect(await taskCount()).toBe(before);
    expect(browser.errors()).toEqual([]);
  });

  it("seals the inputs in the page, and opens the sealed outputs on the task page: they equal bare onnxruntime's", async () => {
    await page.getByLabel("Accept simulated TEE (development)").check();
    // The refusal goes with the setting that caused it.
    await expect.poll(() => page.getByRole("alert").filter({ hasText: "Nothing was sent" }).count()).toBe(0);
    const verification = page.getByTestId("tee-verification");
    await expect.poll(() => verification.getAttribute("data-state")).toBe("verified");
    expect(await verification.innerText()).toMatch(/verified in this page[\s\S]*SIMULATED TEE[\s\S]*simulated · measurement/);
    await page.screenshot({ path: path.join(ARTIFACTS, "sealed-submit.png"), fullPage: true });

    const submits = await recordSubmits(async () => {
      await page.getByRole("button", { name: "Run task" }).click();
      await page.waitForURL(/\/task\?id=tsk_/, { timeout: 30_000 });
    });
    const taskId = new URL(page.url()).searchParams.get("id")!;

    // What left the page: empty inputs and a sealed box to the attested provider, nothing in the clear.
    expect(submits).toHaveLength(1);
    const posted = JSON.parse(submits[0]!) as Record<string, any>;
    const input = posted["0"]?.json ?? posted["0"] ?? posted;
    expect(input.modelId).toBe(modelId);
    expect(input.inputs).toEqual({});
    expect(input.requirements).toEqual({ privacy: "tee" });
    expect(Object.keys(input.sealed).sort()).toEqual(["ciphertext", "enc", "evidenceSha256", "providerId"]);
    expect(input.sealed.providerId).toBe(tee.providerId);
    expect(input.sealed.enc).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(input.sealed.ciphertext.length).toBeGreaterThan(x.byteLength);
    const { providers } = (await api("GET", "/providers")).body as { providers: Array<{ id: string; tee: { evidenceSha256: string } | null }> };
    expect(input.sealed.evidenceSha256).toBe(providers.find((p) => p.id === tee.providerId)!.tee!.evidenceSha256);
    const xBytes = Buffer.from(x.buffer);
    for (const needle of [xBytes.toString("base64"), xBytes.toString("hex"), "0.71875", "-0.859375"]) expect(submits[0]!.includes(needle), `the submit holds ${needle}`).toBe(false);

    // The task page: sealed banner, completion, and the outputs opened in the page.
    const notice = page.getByTestId("sealed-notice");
    await notice.waitFor();
    expect(await notice.innerText()).toContain("Sealed: inputs and outputs encrypted end to end to an attested TEE");
    await expect.poll(() => page.getByTestId("task-status").getAttribute("data-status"), { timeout: 60_000 }).toBe("completed");
    expect(await notice.getAttribute("data-simulated")).toBe("true");
    expect(await notice.innerText()).toMatch(/SIMULATED TEE — development only, proves nothing[\s\S]*simulated · provider/);
    await page.getByTestId("sealed-outputs").waitFor();
    const values = (await page.getByTestId(`values-${outName}`).locator("td").allInnerTexts()).map(Number);
    expect(values).toHaveLength(want.length);
    values.forEach((v, i) => expect(close(v, want[i]!), `${outName}[${i}] = ${v}, expected ${want[i]}`).toBe(true));
    // The .npy download holds exactly onnxruntime-node's float32 outputs.
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: `Download .npy of ${outName}` }).click()]);
    const npyPath = path.join(tmp, `${outName}.npy`);
    await download.saveAs(npyPath);
    const y = toTypedArray(parseNpy(new Uint8Array(readFileSync(npyPath))));
    expect(y.dims).toEqual([1, 4]);
    expect(Array.from(y.data as Float32Array)).toEqual(want);
    const receipt = await page.locator("#receipt").innerText();
    expect(receipt).toContain("attested — run sealed inside a TEE");
    expect(receipt).toContain("TEE evidence");

    // The server only ever had ciphertext: its view has the sealed box and no outputs.
    const view = (await api("GET", `/tasks/${taskId}`)).body;
    expect(view.status).toBe("completed");
    expect(view.outputs ?? {}).toEqual({});
    expect(view.sealed).toMatchObject({ enc: expect.any(String), ciphertext: expect.any(String) });
    expect(view.receipt.qa.check).toBe("attested");
    expect(view.receipt.tee).toMatchObject({ providerId: tee.providerId, evidenceSha256: input.sealed.evidenceSha256, kind: "simulated", simulated: true });
    await page.screenshot({ path: path.join(ARTIFACTS, "sealed-task.png"), fullPage: true });

    // Another tab (same sign-in, its own sessionStorage) holds no reply key: it says so.
    const other = await browser.context.newPage();
    try {
      await other.goto(`${net.url}/task?id=${taskId}`);
      await other.getByTestId("sealed-no-key").waitFor();
      expect(await other.getByTestId("sealed-notice").innerText()).toContain("Sealed: inputs and outputs encrypted end to end");
      expect(await other.getByTestId(`values-${outName}`).count()).toBe(0);
    } finally {
      await other.close();
    }
    expect(browser.errors()).toEqual([]);
  });
});
