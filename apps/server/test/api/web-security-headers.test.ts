import { createHash } from "node:crypto";
import { brotliCompressSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { EMPTY_HANDLER_HASH, contentSecurityPolicy, inlineScriptHashes } from "../../src/http/content-security-policy";
import { describeDb } from "../support/database";
import { useWebNetwork, writeWebExport } from "../support/web-export";

const sha = (text: string) => `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;

const HOME_SCRIPTS = ["(self.__next_f=self.__next_f||[]).push([0])", 'self.__next_f.push([1,"home"])'];
const MODELS_SCRIPT = 'self.__next_f.push([1,"models</p>"])';
const page = (title: string, inline: string[]) =>
  `<!doctype html><title>${title}</title><script src="/_next/static/chunks/app.js" async=""></script>${inline.map((s) => `<script>${s}</script>`).join("")}`;

/** A web build shaped like Next.js's static export, with inline flight-data scripts as it writes them. */
function fakeExport(): string {
  const models = page("models", [MODELS_SCRIPT]);
  return writeWebExport({
    "index.html": page("home", HOME_SCRIPTS),
    "models.html": models,
    "models.html.br": brotliCompressSync(models),
    "404.html": page("not found", []),
    "_next/static/chunks/app.js": "console.log(1)",
  });
}

const directives = (policy: string | null): Map<string, string> =>
  new Map(
    (policy ?? "")
      .split(";")
      .map((d) => d.trim().split(/\s+/))
      .map(([name, ...values]) => [name!, values.join(" ")]),
  );

describe("content-security-policy", () => {
  it("hashes exactly the inline scripts of a page (not src scripts, not empty ones)", () => {
    const html = `${page("x", ["a()", "b()", "a()"])}<script type="module" src="/m.js"></script><script></script><SCRIPT id="_R_">c()</SCRIPT >`;
    expect(inlineScriptHashes(html)).toEqual([sha("a()"), sha("b()"), sha("c()")]);
  });

  it("allows only this origin (and the chain's RPC origin) to be fetched, and no framing", () => {
    const d = directives(contentSecurityPolicy([sha("a()")], ["http://127.0.0.1:8545"]));
    expect(d.get("script-src")).toBe(`'self' 'wasm-unsafe-eval' 'unsafe-hashes' ${EMPTY_HANDLER_HASH} ${sha("a()")}`);
    // The one inline event handler allowed is the empty one (TonConnect UI's <body ontouchstart="">).
    expect(EMPTY_HANDLER_HASH).toBe(sha(""));
    expect(d.get("connect-src")).toBe("'self' http://127.0.0.1:8545");
    expect(d.get("frame-ancestors")).toBe("'none'");
    expect(d.get("object-src")).toBe("'none'");
    expect(d.get("default-src")).toBe("'self'");
  });
});

/** The server sends each page with a policy naming exactly that page's inline scripts. */
describeDb("web app security headers", () => {
  const network = useWebNetwork(fakeExport);

  const get = (p: string, headers: Record<string, string> = { accept: "text/html" }) => fetch(`${network().url}${p}`, { headers });

  it("gives every page a CSP with its own inline-script hashes, frame-ancestors 'none' and X-Frame-Options: DENY", async () => {
    const home = await get("/");
    expect(home.status).toBe(200);
    expect(home.headers.get("x-frame-options")).toBe("DENY");
    const homePolicy = directives(home.headers.get("content-security-policy"));
    expect(homePolicy.get("script-src")).toBe(`'self' 'wasm-unsafe-eval' 'unsafe-hashes' ${EMPTY_HANDLER_HASH} ${HOME_SCRIPTS.map(sha).join(" ")}`);
    expect(homePolicy.get("frame-ancestors")).toBe("'none'");
    expect(homePolicy.get("script-src")).not.toMatch(/unsafe-inline|'unsafe-eval'/);

    // Another page: its own hash only (the brotli copy is the same page, with the same policy).
    for (const headers of [{ accept: "text/html" }, { accept: "text/html", "accept-encoding": "br" }] as Record<string, string>[]) {
      const models = await get("/models", headers);
      expect(models.status).toBe(200);
      expect(directives(models.headers.get("content-security-policy")).get("script-src")).toBe(`'self' 'wasm-unsafe-eval' 'unsafe-hashes' ${EMPTY_HANDLER_HASH} ${sha(MODELS_SCRIPT)}`);
    }
  });

  it("the 404 page has a policy too; assets are not framable either", async () => {
    const missing = await get("/no-such-page");
    expect(missing.status).toBe(404);
    expect(directives(missing.headers.get("content-security-policy")).get("script-src")).toBe(`'self' 'wasm-unsafe-eval' 'unsafe-hashes' ${EMPTY_HANDLER_HASH}`);
    expect(missing.headers.get("x-frame-options")).toBe("DENY");
    const asset = await get("/_next/static/chunks/app.js", { accept: "*/*" });
    expect(asset.status).toBe(200);
    expect(asset.headers.get("x-frame-options")).toBe("DENY");
  });
});
