/**
 * A local HTTP server standing in for the marketplace's model blob endpoint
 * (`GET /api/v1/models/<id>/file`, Bearer auth) and the two account routes the agent's `--stake`
 * uses (`GET /api/v1/accounts/me`, `POST /api/v1/accounts/me/stake`). It counts requests so tests
 * can check caching.
 */
import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface ServedModel {
  id: string;
  sha256: string;
  sizeBytes: number;
  url: string;
}

export interface ModelServer {
  url: string;
  http: http.Server;
  apiKey: string;
  /** Adds a model; `body` overrides the bytes actually served (to simulate corruption). */
  add(id: string, bytes: Uint8Array, opts?: { body?: Uint8Array; delayMs?: number }): ServedModel;
  requests: { path: string; authorization: string | undefined }[];
  /** The caller's account, as `/accounts/me` shows it; `/accounts/me/stake` moves balance → stake. */
  account: { balance: bigint; stake: bigint };
  countFor(id: string): number;
  close(): Promise<void>;
}

export const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

export async function startModelServer(apiKey = "test-key"): Promise<ModelServer> {
  const models = new Map<string, { body: Uint8Array; delayMs: number }>();
  const requests: ModelServer["requests"] = [];
  const account = { balance: 0n, stake: 0n };
  const sendJson = (res: http.ServerResponse, status: number, body: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  const view = () => ({ accountId: "acc_test", balance: String(account.balance), escrow: "0", stake: String(account.stake) });
  const server = http.createServer((req, res) => {
    requests.push({ path: req.url ?? "", authorization: req.headers.authorization });
    const m = /^\/api\/v1\/models\/([^/]+)\/file$/.exec(req.url ?? "");
    if (req.headers.authorization !== `Bearer ${apiKey}`) {
      res.writeHead(401, { "content-type": "application/json" }).end('{"error":{"code":"UNAUTHORIZED","message":"bad key"}}');
      return;
    }
    if (req.method === "GET" && req.url === "/api/v1/accounts/me") return void sendJson(res, 200, view());
    if (req.method === "POST" && req.url === "/api/v1/accounts/me/stake") {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        const amount = BigInt((JSON.parse(body) as { amount: string }).amount);
        if (amount > account.balance) return void sendJson(res, 402, { error: { code: "INSUFFICIENT_FUNDS", message: `balance ${account.balance}` } });
        account.balance -= amount;
        account.stake += amount;
        sendJson(res, 200, view());
      });
      return;
    }
    const model = m ? models.get(decodeURIComponent(m[1]!)) : undefined;
    if (!model) {
      res.writeHead(404, { "content-type": "application/json" }).end('{"error":{"code":"MODEL_NOT_FOUND","message":"no such model"}}');
      return;
    }
    setTimeout(() => {
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": model.body.byteLength });
      res.end(Buffer.from(model.body.buffer, model.body.byteOffset, model.body.byteLength));
    }, model.delayMs);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    http: server,
    apiKey,
    requests,
    account,
    add(id, bytes, opts = {}) {
      models.set(id, { body: opts.body ?? bytes, delayMs: opts.delayMs ?? 0 });
      return { id, sha256: sha256(bytes), sizeBytes: bytes.byteLength, url: `/api/v1/models/${id}/file` };
    },
    countFor(id) {
      return requests.filter((r) => r.path === `/api/v1/models/${id}/file`).length;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
