/**
 * `npm start`'s JSON-RPC forwarder: a fixed loopback port in front of the local anvil (whose port
 * changes at every start), for the web app's wallet page and browser wallets.
 *
 * anvil keeps its ten "test … junk" accounts unlocked, so a forwarder that answered every site
 * (`access-control-allow-origin: *`) would let any web page the user opens send transactions from
 * them, or rewrite the chain with `anvil_*` / `evm_*`. This one:
 *
 * - answers browsers only from the web app's origins (and from wallet extensions, which call the
 *   RPC from their own `chrome-extension://` / `moz-extension://` origin): any other `Origin` gets
 *   403 and no CORS headers; a request whose Host is not this loopback port (DNS rebinding) too;
 * - forwards only what a wallet that signs locally needs — `eth_*` reads, `eth_sendRawTransaction`,
 *   `net_*`, `web3_*` — and refuses (403, a JSON-RPC error) anything that signs with the node's
 *   accounts (`eth_sendTransaction`, `eth_sign*`, `personal_*`) and every other namespace
 *   (`anvil_*`, `hardhat_*`, `evm_*`, `debug_*`, …), for every caller; a batch with one refused
 *   call is refused whole.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";

const SIGNING_METHODS = new Set([
  "eth_sendTransaction",
  "eth_sign",
  "eth_signTransaction",
  "eth_signTypedData",
  "eth_signTypedData_v1",
  "eth_signTypedData_v3",
  "eth_signTypedData_v4",
  "eth_accounts",
  "eth_requestAccounts",
]);
const ALLOWED_NAMESPACES = ["eth_", "net_", "web3_"];
const EXTENSION_ORIGIN = /^(chrome|moz|safari-web)-extension:\/\/[A-Za-z0-9._-]+$/;
const MAX_BODY = 1024 * 1024;

/** Why a JSON-RPC method is refused, or undefined when it may be forwarded. */
export function refusedMethod(method: unknown): string | undefined {
  if (typeof method !== "string") return "no method";
  if (SIGNING_METHODS.has(method) || method.startsWith("personal_")) return `${method} uses the node's unlocked accounts; sign in the wallet and send eth_sendRawTransaction`;
  if (!ALLOWED_NAMESPACES.some((ns) => method.startsWith(ns))) return `${method} is not available through this forwarder (node administration)`;
  return undefined;
}

/** The web app's origins for its port: http://localhost:PORT, http://127.0.0.1:PORT, http://[::1]:PORT. */
export const webAppOrigins = (port: number): string[] => [`http://localhost:${port}`, `http://127.0.0.1:${port}`, `http://[::1]:${port}`];

export interface RpcForwarderOptions {
  /** anvil's URL. */
  target: string;
  /** The loopback port to listen on (0: any free one). */
  port: number;
  /** Origins browsers may call from (the web app's: `webAppOrigins(PORT)`). */
  allowedOrigins: readonly string[];
}

export interface RpcForwarder {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** Starts the forwarder on 127.0.0.1:`port`; rejects when the port is taken. */
export function startRpcForwarder(opts: RpcForwarderOptions): Promise<RpcForwarder> {
  const allowed = new Set(opts.allowedOrigins);
  let hosts: Set<string> = new Set();
  const server = createServer((req, res) => void handle(req, res));

  const send = (res: ServerResponse, status: number, headers: Record<string, string>, body?: string) => {
    res.writeHead(status, { ...headers, ...(body !== undefined ? { "content-type": "application/json" } : {}) }).end(body);
  };
  const rpcError = (id: unknown, code: number, message: string) => JSON.stringify({ jsonrpc: "2.0", id: id ?? null, error: { code, message } });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const origin = req.headers.origin;
    if (!hosts.has(req.headers.host ?? "")) return send(res, 403, {}, rpcError(null, -32600, `Host ${req.headers.host ?? "(none)"} refused: use ${[...hosts][0]}`));
    if (origin !== undefined && !allowed.has(origin) && !EXTENSION_ORIGIN.test(origin)) {
      return send(res, 403, { vary: "origin" }, rpcError(null, -32600, `Origin ${origin} may not use this RPC (only the Stun web app and wallet extensions)`));
    }
    const cors: Record<string, string> = origin
      ? { "access-control-allow-origin": origin, "access-control-allow-methods": "POST, OPTIONS", "access-control-allow-headers": "content-type", "access-control-max-age": "600", vary: "origin" }
      : {};
    if (req.method === "OPTIONS") return send(res, 204, cors);
    if (req.method !== "POST") return send(res, 405, cors);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY) return send(res, 413, cors, rpcError(null, -32600, `request over ${MAX_BODY} bytes`));
      chunks.push(chunk);
    }
    const body = Buffer.concat(chunks);
    let calls: Array<{ id?: unknown; method?: unknown }>;
    try {
      const parsed = JSON.parse(body.toString("utf8")) as unknown;
      calls = (Array.isArray(parsed) ? parsed : [parsed]) as typeof calls;
      if (calls.some((c) => typeof c !== "object" || c === null)) throw new Error("not a call");
    } catch {
      return send(res, 400, cors, rpcError(null, -32700, "not JSON-RPC"));
    }
    for (const call of calls) {
      const why = refusedMethod(call.method);
      if (why) return send(res, 403, cors, rpcError(call.id, -32601, why));
    }
    try {
      const r = await fetch(opts.target, { method: "POST", headers: { "content-type": "application/json" }, body });
      send(res, r.status, cors, Buffer.from(await r.arrayBuffer()).toString("utf8"));
    } catch (e) {
      send(res, 502, cors, rpcError(null, -32603, `local chain unreachable: ${(e as Error).message}`));
    }
  }

  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      hosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
      resolve({ url: `http://127.0.0.1:${port}`, server, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}
