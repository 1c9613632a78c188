/**
 * The web app's Content-Security-Policy. The app is a Next.js static export: its pages carry inline
 * `<script>` tags (the React flight data, `self.__next_f.push(…)`), different on every page, so each
 * HTML file gets a policy listing the sha256 of exactly its inline scripts, computed once at start
 * from the files the server will send. No 'unsafe-inline' and no 'unsafe-eval' for scripts: an
 * injected script runs only if it is byte-for-byte one the build wrote.
 *
 * - 'wasm-unsafe-eval': onnxruntime-web and snarkjs compile WebAssembly.
 * - 'unsafe-hashes' with the hash of the empty string: TonConnect UI sets an empty `ontouchstart`
 *   attribute on <body> (a Mobile Safari :active fix); an empty handler runs nothing, and no other
 *   inline handler matches it.
 * - worker-src blob: data: — onnxruntime-web's proxy and snarkjs' nested prover workers start from
 *   blob:/data: URLs (which inherit the creating page's or worker's policy).
 * - connect-src 'self' (CSP3: also ws:/wss: to this host, for socket.io) plus the chain's browser
 *   RPC origin when the server has a chain (the wallet page reads balances from it) and the Solana
 *   rail's RPC origin (the wallet page sends a Solana deposit through it).
 * - style-src 'unsafe-inline': React and the wallet UIs set inline styles; styles cannot run code.
 * - frame-ancestors 'none' (and X-Frame-Options: DENY for old browsers): no clickjacking frames.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

/** The sha256 CSP source of each inline (no `src`) script in an HTML document, in order. */
export function inlineScriptHashes(html: string): string[] {
  const hashes: string[] = [];
  for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script\s*>/gi)) {
    if (/\bsrc\s*=/i.test(m[1]!) || m[2]!.length === 0) continue;
    hashes.push(`'sha256-${createHash("sha256").update(m[2]!, "utf8").digest("base64")}'`);
  }
  return [...new Set(hashes)];
}

/** sha256 of "" as a CSP source: allows only empty inline event handlers (see above). */
export const EMPTY_HANDLER_HASH = "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='";

/** The policy of a page whose inline scripts have `scriptHashes`; `connectOrigins`: extra origins it may fetch. */
export function contentSecurityPolicy(scriptHashes: readonly string[], connectOrigins: readonly string[] = []): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'wasm-unsafe-eval' 'unsafe-hashes' ${EMPTY_HANDLER_HASH}${scriptHashes.map((h) => ` ${h}`).join("")}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    `connect-src 'self'${connectOrigins.map((o) => ` ${o}`).join("")}`,
    "worker-src 'self' blob: data:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/**
 * Every HTML file under `root` (relative path, `/`-separated) → its policy. Read once at start:
 * the export does not change while the server runs (a rebuild means a restart).
 */
export function pagePolicies(root: string, connectOrigins: readonly string[]): Map<string, string> {
  const policies = new Map<string, string>();
  for (const rel of readdirSync(root, { recursive: true, encoding: "utf8" })) {
    if (!rel.endsWith(".html")) continue;
    const html = readFileSync(path.join(root, rel), "utf8");
    policies.set(rel.split(path.sep).join("/"), contentSecurityPolicy(inlineScriptHashes(html), connectOrigins));
  }
  return policies;
}
