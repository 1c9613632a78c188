import http from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StunApiError, StunClient, errorFromResponse, isStunApiError, outputsOf, toTaskInfo } from "../src/index";
import type { TaskView } from "@stun/shared";

describe("errorFromResponse: the REST error body → StunApiError", () => {
  it("takes code, message and details from a Stun error body, status from HTTP", () => {
    const e = errorFromResponse(402, JSON.stringify({ error: { code: "INSUFFICIENT_FUNDS", message: "balance 5 < hold 10", details: { need: "10" } } }));
    expect(e).toBeInstanceOf(StunApiError);
    expect(e).toBeInstanceOf(Error);
    expect(isStunApiError(e)).toBe(true);
    expect(e.name).toBe("StunApiError");
    expect({ status: e.status, code: e.code, message: e.message, details: e.details }).toEqual({
      status: 402,
      code: "INSUFFICIENT_FUNDS",
      message: "balance 5 < hold 10",
      details: { need: "10" },
    });
    expect(e.toJSON()).toEqual({ error: { code: "INSUFFICIENT_FUNDS", message: "balance 5 < hold 10", status: 402, details: { need: "10" } } });
  });

  it("keeps codes this SDK does not know yet", () => {
    const e = errorFromResponse(409, '{"error":{"code":"SOMETHING_NEW","message":"new"}}');
    expect([e.code, e.message]).toEqual(["SOMETHING_NEW", "new"]);
  });

  it("falls back to the status line when the message is missing", () => {
    const e = errorFromResponse(404, '{"error":{"code":"TASK_NOT_FOUND"}}', "Not Found");
    expect([e.code, e.message]).toEqual(["TASK_NOT_FOUND", "404 Not Found"]);
  });

  it("maps bodies that are not Stun errors to HTTP_ERROR with the status and a snippet", () => {
    const html = errorFromResponse(502, "<html><body>\n  Bad   Gateway\n</body></html>", "Bad Gateway");
    expect([html.status, html.code]).toEqual([502, "HTTP_ERROR"]);
    expect(html.message).toBe("HTTP 502 Bad Gateway: <html><body> Bad Gateway </body></html>");
    expect(errorFromResponse(500, "").message).toBe("HTTP 500");
    expect(errorFromResponse(400, '{"error":"flat string"}').code).toBe("HTTP_ERROR");
    expect(errorFromResponse(400, '{"message":"no error key"}').code).toBe("HTTP_ERROR");
    expect(errorFromResponse(400, "x".repeat(1000)).message.length).toBeLessThan(230);
  });
});

describe("transport failures", () => {
  // A TCP server that accepts connections and never answers: a hung server.
  let blackHole: Server;
  const sockets = new Set<Socket>();
  let blackHoleUrl: string;
  // A port nothing listens on.
  let closedUrl: string;

  beforeAll(async () => {
    blackHole = createServer((socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    });
    await new Promise<void>((r) => blackHole.listen(0, "127.0.0.1", r));
    blackHoleUrl = `http://127.0.0.1:${(blackHole.address() as { port: number }).port}`;
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    closedUrl = `http://127.0.0.1:${(probe.address() as { port: number }).port}`;
    await new Promise((r) => probe.close(r));
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => blackHole.close(r));
  });

  it("a refused connection is NETWORK_ERROR (status 0), with the cause kept", async () => {
    const err = await new StunClient({ baseUrl: closedUrl, apiKey: "k" }).account().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StunApiError);
    expect((err as StunApiError).code).toBe("NETWORK_ERROR");
    expect((err as StunApiError).status).toBe(0);
    expect((err as StunApiError).message).toContain("ECONNREFUSED");
    expect((err as StunApiError).cause).toBeDefined();
  });

  it("StunClient.createAccount on an unreachable server is NETWORK_ERROR", async () => {
    await expect(StunClient.createAccount(closedUrl)).rejects.toMatchObject({ code: "NETWORK_ERROR" });
  });

  it("no answer within timeoutMs is TIMEOUT", async () => {
    const client = new StunClient({ baseUrl: blackHoleUrl, apiKey: "k", timeoutMs: 150 });
    await expect(client.stats()).rejects.toMatchObject({ code: "TIMEOUT", status: 0 });
    await expect(client.health({ timeoutMs: 100 })).rejects.toMatchObject({ code: "TIMEOUT" });
  });

  it("the caller's AbortSignal rejects with its reason, not a StunApiError", async () => {
    const client = new StunClient({ baseUrl: blackHoleUrl, apiKey: "k" });
    const ac = new AbortController();
    const p = client.providers({ signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    const err = await p.catch((e: unknown) => e);
    expect(isStunApiError(err)).toBe(false);
    expect((err as Error).name).toBe("AbortError");
    await expect(client.providers({ signal: AbortSignal.abort() })).rejects.toMatchObject({ name: "AbortError" });
  });

  it("waitForTask gives up with TIMEOUT when the server never answers", async () => {
    const client = new StunClient({ baseUrl: blackHoleUrl, apiKey: "k", timeoutMs: 100 });
    await expect(client.waitForTask("t1", { timeoutMs: 400 })).rejects.toMatchObject({ code: "TIMEOUT" });
  });
});

describe("several servers (baseUrl list)", () => {
  // A server that answers; one that drops every connection once the request has arrived (an
  // instance killed mid-request); and a port nothing listens on (connection refused).
  let ok: http.Server;
  let okUrl: string;
  const okSeen: string[] = [];
  let dropper: Server;
  let dropUrl: string;
  let droppedRequests = 0;
  let closedUrl: string;

  beforeAll(async () => {
    ok = http.createServer((req, res) => {
      okSeen.push(`${req.method} ${req.url}`);
      res.setHeader("content-type", "application/json");
      if (req.url === "/api/v1/health") return void res.end(JSON.stringify({ status: "ok", providers: { online: 2 } }));
      if (req.url === "/api/v1/accounts") return void res.writeHead(201).end(JSON.stringify({ accountId: "acc_1", apiKey: "sk_1" }));
      res.writeHead(404).end(JSON.stringify({ error: { code: "NOT_FOUND", message: "no" } }));
    });
    await new Promise<void>((r) => ok.listen(0, "127.0.0.1", r));
    okUrl = `http://127.0.0.1:${(ok.address() as { port: number }).port}`;
    dropper = createServer((socket) =>
      socket.once("data", () => {
        droppedRequests++;
        socket.destroy();
      }),
    );
    await new Promise<void>((r) => dropper.listen(0, "127.0.0.1", r));
    dropUrl = `http://127.0.0.1:${(dropper.address() as { port: number }).port}`;
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    closedUrl = `http://127.0.0.1:${(probe.address() as { port: number }).port}`;
    await new Promise((r) => probe.close(r));
  });
  afterAll(async () => {
    ok.closeAllConnections();
    await new Promise((r) => ok.close(r));
    await new Promise((r) => dropper.close(r));
  });

  it("accepts a list or a comma-separated string; a read moves on from a refused or dropped server and stays on the one that answered", async () => {
    expect(new StunClient({ baseUrl: "http://a:1/, http://b:2/api/v1" }).baseUrls).toEqual(["http://a:1", "http://b:2"]);
    expect(() => new StunClient({ baseUrl: [] })).toThrow(StunApiError);
    const client = new StunClient({ baseUrl: [closedUrl, dropUrl, okUrl] });
    okSeen.length = 0;
    const before = droppedRequests;
    expect(await client.health()).toEqual({ status: "ok", providers: { online: 2 } });
    expect(droppedRequests).toBe(before + 1);
    expect(await client.health()).toEqual({ status: "ok", providers: { online: 2 } });
    expect(droppedRequests).toBe(before + 1); // the second call went straight to the server that answered
    expect(okSeen).toEqual(["GET /api/v1/health", "GET /api/v1/health"]);
  });

  it("a write moves on only from a refused connection: one cut off after sending is NETWORK_ERROR, never sent twice", async () => {
    okSeen.length = 0;
    expect(await StunClient.createAccount([closedUrl, okUrl])).toEqual({ accountId: "acc_1", apiKey: "sk_1" });
    expect(okSeen).toEqual(["POST /api/v1/accounts"]);
    okSeen.length = 0;
    await expect(StunClient.createAccount([dropUrl, okUrl])).rejects.toMatchObject({ code: "NETWORK_ERROR" });
    expect(okSeen).toEqual([]);
  });
});

describe("client set-up", () => {
  it("normalizes the base URL (trailing slash, trailing /api/v1)", () => {
    expect(new StunClient({ baseUrl: "http://h:4000/" }).baseUrl).toBe("http://h:4000");
    expect(new StunClient({ baseUrl: "http://h:4000/api/v1/" }).baseUrl).toBe("http://h:4000");
    expect(new StunClient().baseUrl).toBe("http://localhost:4000");
    expect(() => new StunClient({ baseUrl: "not a url" })).toThrow(StunApiError);
  });

  it("faucet rejects amounts that are not integers of base units before sending", async () => {
    const client = new StunClient({ apiKey: "k" });
    await expect(client.faucet(-5)).rejects.toMatchObject({ code: "VALIDATION_FAILED" });
    await expect(client.faucet("1e3")).rejects.toMatchObject({ code: "VALIDATION_FAILED" });
  });
});

describe("task views", () => {
  const base: TaskView = {
    id: "t1",
    status: "completed",
    modelId: "m1",
    verification: { mode: "redundant", replicas: 2, outcome: "accepted", executions: [] },
    cost: "120",
    receipt: null,
    createdAt: "2026-01-01T00:00:00.000Z",
    completedAt: "2026-01-01T00:00:01.000Z",
    outputs: { y: { dtype: "float32", dims: [1, 2], data: "AACAPwAAAEA=" } },
  };

  it("converts money to bigint and decodes outputs", () => {
    const info = toTaskInfo(base);
    expect(info.cost).toBe(120n);
    expect(info.outputs?.y).toEqual({ dtype: "float32", dims: [1, 2], data: new Float32Array([1, 2]) });
    expect(outputsOf(info).y?.data).toEqual(new Float32Array([1, 2]));
  });

  it("failed and expired tasks have no outputs: TASK_FAILED / TASK_EXPIRED with the server's code", () => {
    const failed = toTaskInfo({ ...base, status: "failed", outputs: undefined, cost: null, error: { code: "EXECUTION_FAILED", message: "boom" } });
    try {
      outputsOf(failed);
      expect.unreachable();
    } catch (e) {
      expect(e).toMatchObject({ code: "TASK_FAILED", details: { taskId: "t1", status: "failed", taskCode: "EXECUTION_FAILED" } });
      expect((e as Error).message).toContain("EXECUTION_FAILED: boom");
    }
    expect(() => outputsOf(toTaskInfo({ ...base, status: "expired", outputs: undefined }))).toThrow(expect.objectContaining({ code: "TASK_EXPIRED" }));
    expect(() => outputsOf(toTaskInfo({ ...base, status: "running", outputs: undefined }))).toThrow(expect.objectContaining({ code: "TIMEOUT" }));
  });
});
