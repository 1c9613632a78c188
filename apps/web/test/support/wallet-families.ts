import { randomBytes } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ed25519 } from "@noble/curves/ed25519.js";
import { base58 } from "@scure/base";
import { build } from "esbuild";
import type { BrowserContext } from "playwright-core";
import { beginCell } from "@ton/core";
import { type TonWallet, tonProof } from "../../../server/test/support/wallet-signers";

/**
 * Test wallets of the non-EVM families for real Chromium, each installed in every page of a browser
 * context before any page script runs, with real ed25519 keys:
 *
 * - a Wallet Standard Solana wallet, registered through the `wallet-standard:register-wallet` /
 *   `wallet-standard:app-ready` event protocol, with `standard:connect`, `standard:events`,
 *   `solana:signTransaction` (signs in its key's slot and reports the signed bytes), `solana:signMessage` and,
 *   optionally, `solana:signIn`; its key lives and signs in the page (@noble/curves, bundled by esbuild);
 * - a TonConnect injected JS-bridge wallet at `window[jsBridgeKey].tonconnect` (connect with
 *   ton_addr + ton_proof, restoreConnection, send (disconnect, sendTransaction: reported), listen), which reads the app's manifest for the
 *   domain it proves, as real wallets do; its ton_proof is signed in the test process (@ton/crypto,
 *   for a WalletContractV4 built with @ton/ton) across an exposed binding.
 */

export interface SolanaTestWallet {
  /** The wallet's base58 address (its ed25519 public key). */
  address: string;
  name: string;
  /** The messages the wallet signed (SIWS texts), in order, as the page reported them. */
  signedMessages: string[];
  /** The transactions the wallet signed (`solana:signTransaction`), base64 wire bytes with its signature. */
  signedTransactions: string[];
}

export interface SolanaTestWalletOptions {
  name?: string;
  /** Offer `solana:signIn` (default true); without it the app falls back to `solana:signMessage`. */
  signIn?: boolean;
  /** A `Chain ID` the wallet writes into signIn messages instead of the app's (a wallet on another cluster). */
  forceChainId?: string;
}

let nobleBundle: Promise<string> | undefined;

/** @noble/curves' ed25519 for the page, bundled once (an IIFE defining `__stunNoble` in its scope). */
function nobleEd25519Script(): Promise<string> {
  nobleBundle ??= build({
    stdin: { contents: 'export { ed25519 } from "@noble/curves/ed25519.js";', resolveDir: path.dirname(fileURLToPath(import.meta.url)), loader: "js" },
    bundle: true,
    format: "iife",
    globalName: "__stunNoble",
    platform: "browser",
    write: false,
  }).then((r) => r.outputFiles[0]!.text);
  return nobleBundle;
}

const SOLANA_PAGE_SCRIPT = (
  noble: string,
  opts: { name: string; address: string; publicKey: number[]; secretKey: number[]; signIn: boolean; forceChainId: string | null; report: string; reportTx: string },
) => `(() => {
  ${noble}
  const ed25519 = __stunNoble.ed25519;
  const o = ${JSON.stringify(opts)};
  const secretKey = new Uint8Array(o.secretKey);
  const sign = (bytes) => {
    window[o.report](new TextDecoder().decode(bytes));
    return ed25519.sign(bytes, secretKey);
  };
  // @solana/wallet-standard-util's createSignInMessageText.
  const signInText = (i) => {
    let m = i.domain + " wants you to sign in with your Solana account:\\n" + i.address;
    if (i.statement) m += "\\n\\n" + i.statement;
    const f = [];
    if (i.uri) f.push("URI: " + i.uri);
    if (i.version) f.push("Version: " + i.version);
    if (i.chainId) f.push("Chain ID: " + i.chainId);
    if (i.nonce) f.push("Nonce: " + i.nonce);
    if (i.issuedAt) f.push("Issued At: " + i.issuedAt);
    if (i.expirationTime) f.push("Expiration Time: " + i.expirationTime);
    if (i.notBefore) f.push("Not Before: " + i.notBefore);
    if (i.requestId) f.push("Request ID: " + i.requestId);
    if (i.resources) { f.push("Resources:"); for (const r of i.resources) f.push("- " + r); }
    if (f.length) m += "\\n\\n" + f.join("\\n");
    return m;
  };
  // A wire transaction: compact-u16 signature count (one byte here), the signatures, the message
  // (a 0x80 version prefix for v0, a 3-byte header, the account keys). Signs in our key's slot.
  const signTransaction = (wire) => {
    const tx = new Uint8Array(wire);
    const sigs = tx[0];
    const message = tx.subarray(1 + 64 * sigs);
    const body = message[0] & 0x80 ? message.subarray(1) : message;
    const required = body[0];
    const keys = body.subarray(4);
    const me = new Uint8Array(o.publicKey);
    let slot = -1;
    for (let k = 0; k < required; k++) if (keys.subarray(32 * k, 32 * k + 32).every((b, j) => b === me[j])) slot = k;
    if (slot < 0) throw new Error("the transaction does not ask this wallet to sign");
    tx.set(ed25519.sign(message, secretKey), 1 + 64 * slot);
    window[o.reportTx](btoa(Array.from(tx, (b) => String.fromCharCode(b)).join("")));
    return tx;
  };
  const listeners = new Set();
  let accounts = [];
  const features = ["solana:signMessage", "solana:signTransaction"].concat(o.signIn ? ["solana:signIn"] : []);
  const account = { address: o.address, publicKey: new Uint8Array(o.publicKey), chains: ["solana:mainnet", "solana:devnet"], features, label: o.name };
  const setAccounts = (next) => { accounts = next; for (const l of listeners) l({ accounts }); };
  const wallet = {
    version: "1.0.0",
    name: o.name,
    icon: "data:image/svg+xml;base64," + btoa('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><rect width="8" height="8" fill="#9945FF"/></svg>'),
    chains: ["solana:mainnet", "solana:devnet"],
    get accounts() { return accounts; },
    features: {
      "standard:connect": { version: "1.0.0", connect: async () => { setAccounts([account]); return { accounts }; } },
      "standard:disconnect": { version: "1.0.0", disconnect: async () => setAccounts([]) },
      "standard:events": { version: "1.0.0", on: (event, l) => { if (event !== "change") return () => {}; listeners.add(l); return () => listeners.delete(l); } },
      "solana:signTransaction": { version: "1.0.0", supportedTransactionVersions: ["legacy", 0], signTransaction: async (...inputs) => inputs.map((i) => ({ signedTransaction: signTransaction(i.transaction) })) },
      "solana:signMessage": { version: "1.0.0", signMessage: async (...inputs) => inputs.map((i) => ({ signedMessage: i.message, signature: sign(i.message) })) },
    },
  };
  if (o.signIn) {
    wallet.features["solana:signIn"] = {
      version: "1.0.0",
      signIn: async (...inputs) => {
        setAccounts([account]);
        return inputs.map((input) => {
          const signedMessage = new TextEncoder().encode(signInText({ ...input, address: o.address, ...(o.forceChainId ? { chainId: o.forceChainId } : {}) }));
          return { account, signedMessage, signature: sign(signedMessage), signatureType: "ed25519" };
        });
      },
    };
  }
  const callback = ({ register }) => register(wallet);
  try { window.dispatchEvent(new CustomEvent("wallet-standard:register-wallet", { detail: callback })); } catch (e) { console.warn(e); }
  window.addEventListener("wallet-standard:app-ready", ({ detail }) => callback(detail));
})();`;

let bindings = 0;

/**
 * Installs a Wallet Standard Solana wallet in every page of `context`: a fresh ed25519 key
 * (@noble/curves), signing in the page; the page reports what it signed to the test.
 */
export async function installSolanaTestWallet(context: BrowserContext, opts: SolanaTestWalletOptions = {}): Promise<SolanaTestWallet> {
  const secretKey = new Uint8Array(randomBytes(32));
  const publicKey = ed25519.getPublicKey(secretKey);
  const name = opts.name ?? "Stun Test Solana";
  const out: SolanaTestWallet = { address: base58.encode(publicKey), name, signedMessages: [], signedTransactions: [] };
  const report = `__stunSolanaSigned${++bindings}`;
  await context.exposeBinding(report, (_source, text: string) => {
    out.signedMessages.push(text);
  });
  const reportTx = `__stunSolanaSignedTx${bindings}`;
  await context.exposeBinding(reportTx, (_source, wire: string) => {
    out.signedTransactions.push(wire);
  });
  await context.addInitScript(
    SOLANA_PAGE_SCRIPT(await nobleEd25519Script(), {
      name,
      address: out.address,
      publicKey: [...publicKey],
      secretKey: [...secretKey],
      signIn: opts.signIn ?? true,
      forceChainId: opts.forceChainId ?? null,
      report,
      reportTx,
    }),
  );
  return out;
}

export interface TonTestWallet {
  wallet: TonWallet;
  /** The ton_proof payloads the wallet signed, and for which domain. */
  proofs: Array<{ domain: string; payload: string }>;
  /** The `sendTransaction` requests the wallet accepted (TonConnect's JSON: valid_until, messages of address, amount, payload BOC). */
  sent: Array<{ valid_until?: number; messages: Array<{ address: string; amount: string; payload?: string }> }>;
}

export interface TonTestWalletOptions {
  wallet: TonWallet;
  /** The window key TonConnect finds the wallet under: the wallets list's `js` bridge key (default `tonkeeper`). */
  jsBridgeKey?: string;
  /** The TonConnect network the wallet is on (default "-239", mainnet). */
  network?: string;
}

const TON_PAGE_SCRIPT = (opts: { jsBridgeKey: string; binding: string; sendBinding: string }) => `(() => {
  const o = ${JSON.stringify(opts)};
  let id = 0;
  let connected = null;
  const listeners = new Set();
  const device = { platform: "browser", appName: "Tonkeeper", appVersion: "4.0.0", maxProtocolVersion: 2, features: ["SendTransaction", { name: "SendTransaction", maxMessages: 4 }] };
  const tonconnect = {
    deviceInfo: device,
    walletInfo: { name: "Tonkeeper", app_name: o.jsBridgeKey, image: "/ton-wallet.svg", about_url: "https://tonkeeper.com", platforms: ["chrome"] },
    protocolVersion: 2,
    isWalletBrowser: false,
    async connect(protocolVersion, message) {
      const proofItem = message.items.find((i) => i.name === "ton_proof");
      const reply = await window[o.binding]({ manifestUrl: message.manifestUrl, payload: proofItem ? proofItem.payload : null });
      connected = { name: "ton_addr", address: reply.address, network: reply.network, publicKey: reply.public_key, walletStateInit: reply.proof.state_init };
      const items = [connected];
      if (proofItem) {
        const { timestamp, domain, signature, payload } = reply.proof;
        items.push({ name: "ton_proof", proof: { timestamp, domain, signature, payload } });
      }
      return { event: "connect", id: ++id, payload: { items, device } };
    },
    async restoreConnection() {
      if (!connected) return { event: "connect_error", id: ++id, payload: { code: 0, message: "not connected" } };
      return { event: "connect", id: ++id, payload: { items: [connected], device } };
    },
    async send(request) {
      if (request.method === "disconnect") {
        connected = null;
        return { id: request.id, result: {} };
      }
      if (request.method === "sendTransaction" && connected) {
        const boc = await window[o.sendBinding](JSON.parse(request.params[0]));
        return { id: request.id, result: boc };
      }
      return { id: request.id, error: { code: 400, message: "this test wallet only connects and sends transactions" } };
    },
    listen(callback) {
      listeners.add(callback);
      return () => listeners.delete(callback);
    },
  };
  Object.defineProperty(window, o.jsBridgeKey, { value: { tonconnect }, configurable: true });
})();`;

/** Installs a TonConnect injected wallet (JS bridge) in every page of `context`. */
export async function installTonTestWallet(context: BrowserContext, opts: TonTestWalletOptions): Promise<TonTestWallet> {
  const out: TonTestWallet = { wallet: opts.wallet, proofs: [], sent: [] };
  const binding = `__stunTonWallet${++bindings}`;
  await context.exposeBinding(binding, async (_source, req: { manifestUrl: string; payload: string | null }) => {
    // As a real wallet: the proof's domain is the host of the url in the app's manifest.
    const manifest = (await (await fetch(req.manifestUrl)).json()) as { url: string };
    const domain = new URL(manifest.url).host;
    const payload = req.payload ?? "";
    out.proofs.push({ domain, payload });
    return tonProof(opts.wallet, { domain, payload, network: opts.network ?? "-239" });
  });
  // A sent transaction answers with a BOC (an empty cell here): nothing reaches a TON network.
  const sendBinding = `__stunTonSend${bindings}`;
  await context.exposeBinding(sendBinding, (_source, request: TonTestWallet["sent"][number]) => {
    out.sent.push(request);
    return beginCell().endCell().toBoc().toString("base64");
  });
  await context.addInitScript(TON_PAGE_SCRIPT({ jsBridgeKey: opts.jsBridgeKey ?? "tonkeeper", binding, sendBinding }));
  return out;
}

/** Answers every request that is not to this machine with an empty 204 (nothing reaches the internet). */
export async function stubNonLocalRequests(context: BrowserContext): Promise<string[]> {
  const stubbed: string[] = [];
  await context.route(
    (url) => !["127.0.0.1", "localhost", "[::1]"].includes(url.hostname),
    async (route) => {
      stubbed.push(route.request().url());
      await route.fulfill({ status: 204, body: "" });
    },
  );
  return stubbed;
}
