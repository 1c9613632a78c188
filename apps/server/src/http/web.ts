import { statSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { AppContext } from "../context";
import type { ChainInfo } from "../chain-port";
import { contentSecurityPolicy, pagePolicies } from "./content-security-policy";

/** Paths that belong to the API: an unknown one gets the API's JSON 404, never the web app's page. */
const API_PREFIXES = ["/api/", "/trpc/", "/socket.io/", "/metrics/"];
const API_EXACT = new Set(["/api", "/api/v1", "/trpc", "/metrics"]);

/** What the web app needs to know about this server before anyone signs in (GET /web-config.json). */
export interface WebConfig {
  mode: "local" | "production";
  /** POST /api/v1/faucet credits test funds (local mode). */
  faucet: boolean;
  /**
   * SLASH_MULTIPLE as a decimal string: paid work needs a stake of this many × the prices of the
   * provider account's live executions, and a wrong result costs this many × its price.
   */
  slashMultiple: string;
  /**
   * The chain this server settles on (CHAIN set): chain id, browser RPC URL, marketplace and token
   * addresses — what the web app's wallet page needs (apps/web/src/wallet/chain.ts). Absent: no chain.
   */
  chain?: ChainInfo;
}

/** onnxruntime-web's dist folder (its .wasm/.mjs runtime files), or undefined when not installed. */
export function ortDistDir(): string | undefined {
  try {
    // The package exports its wasm files by name (not its package.json).
    return path.dirname(createRequire(import.meta.url).resolve("onnxruntime-web/ort-wasm-simd-threaded.wasm"));
  } catch {
    return undefined;
  }
}

/** `/a/b` → the file under `root` it names: `a/b`, `a/b.html` or `a/b/index.html`; undefined if none. */
export function resolveWebFile(root: string, urlPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  // No parent segments, and no dotfiles (build stamps and the like are not for the web).
  if (decoded.includes("\0") || decoded.includes("\\") || decoded.split("/").some((s) => s.startsWith("."))) return undefined;
  const rel = decoded.replace(/^\/+/, "");
  const candidates = rel === "" || rel.endsWith("/") ? [`${rel}index.html`] : [rel, `${rel}.html`, `${rel}/index.html`];
  for (const c of candidates) {
    const abs = path.resolve(root, c);
    if (abs !== root && !abs.startsWith(root + path.sep)) return undefined;
    try {
      if (statSync(abs).isFile()) return c;
    } catch {
      // not there: next candidate
    }
  }
  return undefined;
}

/**
 * Cross-origin isolation on everything the web app loads (onnxruntime-web's multi-threaded WASM
 * needs SharedArrayBuffer, which needs COOP + COEP on the page and its workers); no framing; each
 * HTML page's Content-Security-Policy (`policyOf`); hashed Next.js assets are immutable,
 * everything else revalidates.
 */
function setHeaders(reply: FastifyReply, file: string, policyOf: (htmlFile: string) => string): void {
  void reply.header("x-frame-options", "DENY");
  void reply.header("cross-origin-opener-policy", "same-origin");
  void reply.header("cross-origin-embedder-policy", "require-corp");
  void reply.header("cross-origin-resource-policy", "same-origin");
  void reply.header("x-content-type-options", "nosniff");
  const norm = file
    .split(path.sep)
    .join("/")
    .replace(/\.(br|gz)$/, "");
  if (norm.includes("/_next/static/")) void reply.header("cache-control", "public, max-age=31536000, immutable");
  else if (norm.endsWith(".wasm") || norm.endsWith(".mjs")) void reply.header("cache-control", "public, max-age=86400");
  else void reply.header("cache-control", "no-cache");
  if (norm.endsWith(".html")) void reply.header("content-security-policy", policyOf(norm));
  if (norm.endsWith(".wasm")) void reply.header("content-type", "application/wasm");
  else if (norm.endsWith(".mjs")) void reply.header("content-type", "text/javascript; charset=utf-8");
}

/**
 * Serves the web app (a Next.js static export) on the API's origin: clean URLs (`/models` →
 * `models.html`), the export's 404 page for unknown pages, onnxruntime-web's runtime at `/ort/`
 * and `/web-config.json`. Registered after the API routes: every API route wins, and unknown
 * `/api/…` or `/trpc/…` paths keep the API's JSON 404.
 */
export async function registerWebApp(http: FastifyInstance, app: AppContext, webDir: string): Promise<void> {
  const root = path.resolve(webDir);
  // The wallet page reads the chain through the server's browser RPC URL.
  // The browser reads the EVM chain's RPC, and sends Solana deposits through the Solana rail's RPC (wallet page).
  const rpcUrls = [app.chain?.info.rpcUrl, app.config.solana?.rpcUrl].filter((u): u is string => u !== undefined);
  const connectOrigins = [...new Set(rpcUrls.map((u) => new URL(u).origin))];
  const policies = pagePolicies(root, connectOrigins);
  const noInlinePolicy = contentSecurityPolicy([], connectOrigins);
  const policyOf = (htmlFile: string) => policies.get(path.relative(root, htmlFile).split(path.sep).join("/")) ?? noInlinePolicy;
  // preCompressed: the build writes .br/.gz next to each text asset (apps/web/scripts/build.ts).
  await http.register(fastifyStatic, {
    root,
    serve: false,
    cacheControl: false,
    preCompressed: true,
    setHeaders: (reply: FastifyReply, file: string) => setHeaders(reply, file, policyOf),
  });

  const webConfig: WebConfig = {
    mode: app.config.STUN_MODE,
    faucet: app.config.local,
    slashMultiple: app.config.qa.slashMultiple.toString(),
    ...(app.chain ? { chain: app.chain.info } : {}),
  };
  http.get("/web-config.json", async (_req, reply) => {
    void reply.header("cache-control", "no-cache").header("cross-origin-resource-policy", "same-origin");
    return webConfig;
  });

  // TonConnect's app manifest: wallets show its name and sign ton_proof for its url's host, so the
  // url is the origin the browser reached this server at (HTTPS behind a proxy: x-forwarded-proto).
  http.get("/tonconnect-manifest.json", async (req, reply) => {
    void reply.header("cache-control", "no-cache").header("access-control-allow-origin", "*");
    const origin = `${req.protocol}://${req.host}`;
    return { url: origin, name: "Stun", iconUrl: `${origin}/icon.svg` };
  });

  const ort = ortDistDir();
  if (ort) {
    http.get("/ort/*", async (req: FastifyRequest, reply: FastifyReply) => {
      const rel = (req.params as { "*": string })["*"];
      const file = /^[\w.-]+$/.test(rel) && (rel.endsWith(".wasm") || rel.endsWith(".mjs") || rel.endsWith(".js")) ? resolveWebFile(ort, `/${rel}`) : undefined;
      if (!file) return reply.callNotFound();
      return reply.sendFile(file, ort);
    });
  } else {
    app.log.warn("onnxruntime-web is not installed: /ort/ (the browser provider's WASM runtime) is not served");
  }

  http.get("/*", async (req: FastifyRequest, reply: FastifyReply) => {
    const urlPath = req.url.split("?")[0]!;
    if (API_EXACT.has(urlPath) || API_PREFIXES.some((p) => urlPath.startsWith(p))) return reply.callNotFound();
    const file = resolveWebFile(root, urlPath);
    if (file) return reply.sendFile(file);
    const notFound = resolveWebFile(root, "/404.html");
    if (!notFound || !(req.headers.accept ?? "").includes("text/html")) return reply.callNotFound();
    return reply.code(404).sendFile(notFound);
  });
}
