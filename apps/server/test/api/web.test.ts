import { rmSync } from "node:fs";
import { brotliCompressSync } from "node:zlib";
import os from "node:os";
import { afterAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/env";
import { resolveWebFile } from "../../src/http/web";
import { describeDb } from "../support/database";
import { useWebNetwork, writeWebExport } from "../support/web-export";
import { api } from "../support/api";

const big = "console.log('stun');\n".repeat(200);

/** A web build shaped like Next.js's static export (trailingSlash: false). */
const fakeExport = (): string =>
  writeWebExport({
    "index.html": "<!doctype html><title>home</title>",
    "models.html": "<!doctype html><title>models</title>",
    "models.txt": "rsc payload",
    "models/__next._tree.txt": "segment",
    "404.html": "<!doctype html><title>not found</title>",
    ".stun-build-stamp": "abc",
    "_next/static/chunks/app.js": "console.log(1)",
    "_next/static/chunks/big.js": big,
    "_next/static/chunks/big.js.br": brotliCompressSync(big),
  });

describe("resolveWebFile", () => {
  const dir = fakeExport();
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it("maps clean URLs to the export's files and refuses to leave the folder", () => {
    expect(resolveWebFile(dir, "/")).toBe("index.html");
    expect(resolveWebFile(dir, "/models")).toBe("models.html");
    expect(resolveWebFile(dir, "/models.txt")).toBe("models.txt");
    expect(resolveWebFile(dir, "/models/__next._tree.txt")).toBe("models/__next._tree.txt");
    expect(resolveWebFile(dir, "/_next/static/chunks/app.js")).toBe("_next/static/chunks/app.js");
    expect(resolveWebFile(dir, "/nope")).toBeUndefined();
    expect(resolveWebFile(dir, "/../etc/passwd")).toBeUndefined();
    expect(resolveWebFile(dir, "/%2e%2e/etc/passwd")).toBeUndefined();
    expect(resolveWebFile(dir, "/%E0%A4%A")).toBeUndefined();
    expect(resolveWebFile(dir, "/.stun-build-stamp")).toBeUndefined();
  });
  it("WEB_DIR: a folder without index.html is a configuration error; off turns the web app off", () => {
    expect(() => parseConfig({ WEB_DIR: os.tmpdir() })).toThrow(/WEB_DIR: .* has no index.html/);
    expect(parseConfig({ WEB_DIR: "off" }).webDir).toBeUndefined();
    expect(parseConfig({ WEB_DIR: dir }).webDir).toBe(dir);
  });
});

/** The server serves the web app on the API's origin; the API's own routes and errors are unchanged. */
describeDb("web app serving (WEB_DIR)", () => {
  const network = useWebNetwork(fakeExport);

  const get = (p: string, accept = "text/html") => fetch(`${network().url}${p}`, { headers: { accept } });

  it("serves pages by clean URL with cross-origin isolation headers", async () => {
    for (const [p, title] of [
      ["/", "home"],
      ["/models", "models"],
      ["/models?id=mdl_1", "models"],
      ["/index.html", "home"],
    ] as const) {
      const res = await get(p);
      expect(res.status, p).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/html/);
      expect(res.headers.get("cross-origin-opener-policy")).toBe("same-origin");
      expect(res.headers.get("cross-origin-embedder-policy")).toBe("require-corp");
      expect(res.headers.get("cache-control")).toBe("no-cache");
      expect(await res.text()).toContain(`<title>${title}</title>`);
    }
    const asset = await get("/_next/static/chunks/app.js", "*/*");
    expect(asset.status).toBe(200);
    expect(asset.headers.get("cache-control")).toContain("immutable");
    expect(asset.headers.get("cross-origin-resource-policy")).toBe("same-origin");
    expect((await get("/models/__next._tree.txt", "*/*")).status).toBe(200);
    // Pre-compressed variants go to browsers that accept them, with the original's type.
    const br = await fetch(`${network().url}/_next/static/chunks/big.js`, { headers: { "accept-encoding": "br" } });
    expect(br.headers.get("content-encoding")).toBe("br");
    expect(br.headers.get("content-type")).toMatch(/javascript/);
    expect(br.headers.get("cache-control")).toContain("immutable");
    expect(await br.text()).toBe(big); // fetch decodes it
    const plain = await fetch(`${network().url}/_next/static/chunks/big.js`, { headers: { "accept-encoding": "identity" } });
    expect(plain.headers.get("content-encoding")).toBeNull();
    expect(await plain.text()).toBe(big);
  });

  it("answers unknown pages with the export's 404 page, unknown API paths with the API's JSON 404", async () => {
    const page = await get("/no-such-page");
    expect(page.status).toBe(404);
    expect(await page.text()).toContain("<title>not found</title>");
    for (const p of ["/api/v1/nope", "/api", "/metrics/x"]) {
      const res = await get(p);
      expect(res.status, p).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code, p).toBe("NOT_FOUND");
    }
    const trpc = await get("/trpc/nope.nope"); // tRPC's own not-found error
    expect(trpc.status).toBe(404);
    expect(trpc.headers.get("content-type")).toMatch(/^application\/json/);
    await trpc.arrayBuffer();
    expect((await get("/no-such-file.js", "*/*")).status).toBe(404);
    expect((await fetch(`${network().url}/models`, { method: "POST" })).status).toBe(404);
  });

  it("keeps the API routes", async () => {
    expect(await api(network().url, "GET", "/health")).toEqual({ status: 200, body: { status: "ok", providers: { online: 0 } } });
    expect((await api(network().url, "GET", "/accounts/me", { key: network().apiKey })).body.accountId).toBe(network().accountId);
    expect((await fetch(`${network().url}/metrics`)).headers.get("content-type")).toMatch(/^text\/plain/);
  });

  it("serves onnxruntime-web's runtime at /ort/ and the web config", async () => {
    const wasm = await get("/ort/ort-wasm-simd-threaded.wasm", "*/*");
    expect(wasm.status).toBe(200);
    expect(wasm.headers.get("content-type")).toBe("application/wasm");
    expect(wasm.headers.get("cross-origin-resource-policy")).toBe("same-origin");
    expect(new Uint8Array(await wasm.arrayBuffer()).subarray(0, 4)).toEqual(new Uint8Array([0, 0x61, 0x73, 0x6d]));
    const mjs = await get("/ort/ort-wasm-simd-threaded.mjs", "*/*");
    expect(mjs.status).toBe(200);
    expect(mjs.headers.get("content-type")).toMatch(/^text\/javascript/);
    await mjs.arrayBuffer();
    expect((await get("/ort/../package.json", "*/*")).status).toBe(404);
    expect((await get("/ort/nope.wasm", "*/*")).status).toBe(404);
    const cfg = await get("/web-config.json", "application/json");
    expect(await cfg.json()).toEqual({ mode: "local", faucet: true, slashMultiple: "10" });
  });

  it("serves the TonConnect manifest for the origin the browser reached (wallets prove its host in ton_proof)", async () => {
    const res = await get("/tonconnect-manifest.json", "application/json");
    expect(res.status).toBe(200);
    // Wallets fetch it from their own origin (an extension, a phone).
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    const origin = new URL(network().url).origin;
    expect(await res.json()).toEqual({ url: origin, name: "Stun", iconUrl: `${origin}/icon.svg` });
  });
});
