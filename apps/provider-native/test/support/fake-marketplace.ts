/**
 * A stand-in for the marketplace's provider endpoint: a real socket.io server on the `/provider`
 * namespace (checking the handshake like the real one) plus the model blob endpoint, recording
 * what the agent sends. The end-to-end tests against apps/server live with the server.
 */
import { Server, type Socket } from "socket.io";
import { HandshakeAuthSchema, PROVIDER_EVENTS, PROVIDER_NAMESPACE, RegisterSchema, type Ack, type Assign, type AssignAck, type ExecutionError, type Register, type Result } from "@stun/shared";
import { type ModelServer, type ServedModel, startModelServer } from "./model-server";

export interface FakeMarketplace {
  url: string;
  apiKey: string;
  models: ModelServer;
  io: Server;
  registrations: Register[];
  heartbeats: { active: number }[];
  results: Result[];
  errors: ExecutionError[];
  releases: { assignmentId: string }[];
  drains: number;
  /** The provider's current socket (after registration). */
  socket(): Socket;
  /** Sends task:assign and resolves with the provider's ack. */
  assign(model: ServedModel, inputs: Assign["inputs"], opts?: { assignmentId?: string; leaseMs?: number }): Promise<AssignAck>;
  waitFor<T>(what: () => T | undefined | false, timeoutMs?: number): Promise<T>;
  /** How the server answers results (default ok). */
  resultAck: (r: Result) => Ack;
  /** Ignore (do not ack) the next n results, as if lost. */
  dropResults: number;
  close(): Promise<void>;
}

let counter = 0;

export async function startFakeMarketplace(apiKey = "key-1"): Promise<FakeMarketplace> {
  const models = await startModelServer(apiKey);
  const io = new Server(models.http, { transports: ["websocket"] });
  const nsp = io.of(PROVIDER_NAMESPACE);
  let current: Socket | undefined;
  const fake: FakeMarketplace = {
    url: models.url,
    apiKey,
    models,
    io,
    registrations: [],
    heartbeats: [],
    results: [],
    errors: [],
    releases: [],
    drains: 0,
    resultAck: () => ({ ok: true }),
    dropResults: 0,
    socket() {
      if (!current) throw new Error("no provider registered");
      return current;
    },
    async assign(model, inputs, opts = {}) {
      const msg: Assign = {
        assignmentId: opts.assignmentId ?? `asg_${++counter}`,
        taskId: `tsk_${counter}`,
        model: { id: model.id, sha256: model.sha256, sizeBytes: model.sizeBytes, url: model.url },
        inputs,
        leaseMs: opts.leaseMs ?? 30_000,
      };
      return (await fake.socket().timeout(5000).emitWithAck(PROVIDER_EVENTS.assign, msg)) as AssignAck;
    },
    async waitFor(what, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const v = what();
        if (v !== undefined && v !== false) return v as never;
        if (Date.now() > until) throw new Error(`waitFor timed out: ${what.toString()}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async close() {
      io.close();
      await models.close();
    },
  };
  nsp.use((socket, next) => {
    const auth = HandshakeAuthSchema.safeParse(socket.handshake.auth);
    if (!auth.success || auth.data.apiKey !== apiKey) return next(new Error("UNAUTHORIZED: invalid API key"));
    next();
  });
  nsp.on("connection", (socket) => {
    socket.on(PROVIDER_EVENTS.register, (payload: unknown, ack: (a: unknown) => void) => {
      const reg = RegisterSchema.safeParse(payload);
      if (!reg.success) return ack({ ok: false, error: { code: "VALIDATION_FAILED", message: reg.error.message } });
      fake.registrations.push(reg.data);
      current = socket;
      ack({ ok: true, providerId: `prv_${reg.data.name}` });
    });
    socket.on(PROVIDER_EVENTS.heartbeat, (hb: { active: number }) => fake.heartbeats.push(hb));
    socket.on(PROVIDER_EVENTS.result, (r: Result, ack: (a: Ack) => void) => {
      if (fake.dropResults > 0) {
        fake.dropResults--;
        return;
      }
      fake.results.push(r);
      ack(fake.resultAck(r));
    });
    socket.on(PROVIDER_EVENTS.error, (e: ExecutionError, ack: (a: Ack) => void) => {
      fake.errors.push(e);
      ack({ ok: true });
    });
    socket.on(PROVIDER_EVENTS.release, (r: { assignmentId: string }, ack: (a: Ack) => void) => {
      fake.releases.push(r);
      ack({ ok: true });
    });
    socket.on(PROVIDER_EVENTS.drain, (_: unknown, ack: (a: Ack) => void) => {
      fake.drains++;
      ack({ ok: true });
    });
  });
  return fake;
}
