/**
 * A real socket.io server on the provider namespace standing in for the marketplace, recording
 * what a ProviderSession sends, plus a real HTTP endpoint whose responses the test controls
 * (answer, or stall until the client gives up).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Server, type Socket } from "socket.io";
import { PROTOCOL_VERSION, PROVIDER_EVENTS, PROVIDER_NAMESPACE, type Ack, type Assign, type AssignAck, type ExecutionError, type Register, type RegisterAck, type Result } from "@stun/shared";

export const MARKET_KEY = "key-1";

export interface Market {
  url: string;
  io: Server;
  registrations: Register[];
  heartbeats: { active: number }[];
  results: Result[];
  errors: ExecutionError[];
  releases: string[];
  drains: number;
  /** Nonces handed out on provider:challenge, and the evidence sent with provider:attest. */
  nonces: string[];
  attestations: unknown[];
  /** How the next provider:attest is answered (default ok). */
  attestAcks: Ack[];
  /** How the next registrations are answered (default ok). */
  registerAcks: RegisterAck[];
  /** Results/errors not acked, as if lost (counted down). */
  dropAnswers: number;
  /** HTTP: path → bytes served, or "stall" (headers and one byte sent, then nothing). */
  files: Map<string, Uint8Array | "stall">;
  /** Requests to a stalled path that the client has since closed. */
  abandoned: string[];
  socket(): Socket;
  assign(a: Partial<Assign> & { assignmentId: string }): Promise<AssignAck>;
  close(): Promise<void>;
}

export const assignment = (a: Partial<Assign> & { assignmentId: string }): Assign => ({
  taskId: `tsk_${a.assignmentId}`,
  model: { id: "mdl_1", sha256: "a".repeat(64), sizeBytes: 4, url: "/api/v1/models/mdl_1/file" },
  inputs: {},
  leaseMs: 30_000,
  ...a,
});

export async function waitFor<T>(what: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = what();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > until) throw new Error(`waitFor timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function startMarket(): Promise<Market> {
  const files = new Map<string, Uint8Array | "stall">();
  const abandoned: string[] = [];
  const httpServer = http.createServer((req, res) => {
    const body = files.get(req.url ?? "");
    if (!body) return void res.writeHead(404).end();
    if (body === "stall") {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      res.write(Uint8Array.of(0)); // the download has begun; the rest never comes
      res.on("close", () => abandoned.push(req.url ?? ""));
      return;
    }
    res.writeHead(200, { "content-type": "application/octet-stream" }).end(body);
  });
  await new Promise<void>((r) => httpServer.listen(0, "127.0.0.1", r));
  const io = new Server(httpServer, { transports: ["websocket"] });
  let current: Socket | undefined;
  const m: Market = {
    url: `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`,
    io,
    registrations: [],
    heartbeats: [],
    results: [],
    errors: [],
    releases: [],
    drains: 0,
    nonces: [],
    attestations: [],
    attestAcks: [],
    registerAcks: [],
    dropAnswers: 0,
    files,
    abandoned,
    socket() {
      if (!current) throw new Error("no provider connected");
      return current;
    },
    async assign(a) {
      return (await m.socket().timeout(5000).emitWithAck(PROVIDER_EVENTS.assign, assignment(a))) as AssignAck;
    },
    close: async () => {
      io.close();
      httpServer.closeAllConnections();
      await new Promise<void>((r) => httpServer.close(() => r()));
    },
  };
  const answer = (list: unknown[]) => (payload: unknown, ack: (a: Ack) => void) => {
    if (m.dropAnswers > 0) {
      m.dropAnswers--;
      return;
    }
    list.push(payload);
    ack({ ok: true });
  };
  // The handshake check the real server makes: a wrong key is refused before any event.
  io.of(PROVIDER_NAMESPACE).use((socket, next) => {
    const auth = socket.handshake.auth as { apiKey?: string; protocolVersion?: number };
    next(auth.apiKey === MARKET_KEY && auth.protocolVersion === PROTOCOL_VERSION ? undefined : new Error("UNAUTHORIZED: bad key"));
  });
  io.of(PROVIDER_NAMESPACE).on("connection", (s) => {
    current = s;
    s.on(PROVIDER_EVENTS.register, (r: Register, ack: (a: RegisterAck) => void) => {
      m.registrations.push(r);
      ack(m.registerAcks.shift() ?? { ok: true, providerId: `prv_${r.name}` });
    });
    s.on(PROVIDER_EVENTS.challenge, (_: unknown, ack: (a: { ok: true; nonce: string }) => void) => {
      const nonce = (m.nonces.length + 1).toString(16).padStart(64, "0");
      m.nonces.push(nonce);
      ack({ ok: true, nonce });
    });
    s.on(PROVIDER_EVENTS.attest, (msg: { tee: unknown }, ack: (a: Ack) => void) => {
      m.attestations.push(msg.tee);
      ack(m.attestAcks.shift() ?? { ok: true });
    });
    s.on(PROVIDER_EVENTS.heartbeat, (h: { active: number }) => m.heartbeats.push(h));
    s.on(PROVIDER_EVENTS.result, answer(m.results));
    s.on(PROVIDER_EVENTS.error, answer(m.errors));
    s.on(PROVIDER_EVENTS.release, (r: { assignmentId: string }, ack: (a: Ack) => void) => {
      m.releases.push(r.assignmentId);
      ack({ ok: true });
    });
    s.on(PROVIDER_EVENTS.drain, (_: unknown, ack: (a: Ack) => void) => {
      m.drains++;
      ack({ ok: true });
    });
  });
  return m;
}
