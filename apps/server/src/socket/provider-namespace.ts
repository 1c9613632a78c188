import type { Namespace, Socket } from "socket.io";
import { randomBytes } from "node:crypto";
import {
  AttestSchema,
  ChallengeSchema,
  DrainSchema,
  ExecutionErrorSchema,
  HeartbeatSchema,
  PROVIDER_EVENTS,
  PROVIDER_NAMESPACE,
  PriceSchema,
  RegisterSchema,
  ReleaseSchema,
  ResultSchema,
  type Ack,
  type ChallengeAck,
  type Register,
  type RegisterAck,
  type TeeEvidence,
} from "@stun/shared";
import { Prisma } from "../db/generated/client";
import type { Server as IOServer } from "socket.io";
import type { z } from "zod";
import type { AppContext } from "../context";
import { keyHandshake, trackKeySocket } from "./key-sockets";
import { reprice } from "./reprice";
import { onAcked } from "./acks";
import { relayCancellations } from "./remote-cancels";
import { newId } from "../ids";
import { handleExecutionError, handleResult } from "../qa/handle-result";
import { liveAssignmentIds, loseAssignment, renewLeases } from "../tasks/lifecycle";
import { rawSql } from "../db/database";
import { networkPrefix } from "../qa/quorum";
import { clientIp } from "../limits/client-ip";
import { attestEvidence, type AttestationOutcome } from "../tee/attest-provider";

/** A provider event: validated, acked, with the socket's registered provider (socket/acks.ts). */
function on<S extends z.ZodType>(
  app: AppContext,
  socket: Socket,
  event: string,
  schema: S,
  handler: (payload: z.infer<S>, providerId: string | undefined) => Promise<Ack | RegisterAck | ChallengeAck | void>,
): void {
  onAcked(app, socket, event, schema, (payload) => handler(payload, socket.data.providerId as string | undefined));
}

const notRegistered: Ack = { ok: false, error: { code: "NOT_REGISTERED", message: "send provider:register first" } };

export interface ProviderNamespace {
  nsp: Namespace;
  /** Resolves once the clean-up of every disconnected provider has finished; later disconnects are ignored (for shutdown). */
  settle(): Promise<void>;
}

export function attachProviderNamespace(app: AppContext, io: IOServer): ProviderNamespace {
  const nsp = io.of(PROVIDER_NAMESPACE);
  const pending = new Set<Promise<void>>();
  let closed = false;
  nsp.use(keyHandshake(app, ["provider"], "connect as a provider"));
  const unrelayCancels = relayCancellations(app);

  nsp.on("connection", (socket) => {
    trackKeySocket(app, socket, socket.data.key);
    on(app, socket, PROVIDER_EVENTS.challenge, ChallengeSchema.optional(), async () => {
      // One outstanding nonce per connection, used once: evidence answering an older one is refused.
      socket.data.teeNonce = randomBytes(32).toString("hex");
      return { ok: true, nonce: socket.data.teeNonce as string };
    });
    on(app, socket, PROVIDER_EVENTS.register, RegisterSchema, async (reg) => register(app, socket, reg));
    on(app, socket, PROVIDER_EVENTS.attest, AttestSchema, async (msg, providerId) => (providerId ? reattest(app, socket, providerId, msg.tee) : notRegistered));
    on(app, socket, PROVIDER_EVENTS.result, ResultSchema, async (msg, providerId) => (providerId ? handleResult(app, providerId, msg) : notRegistered));
    on(app, socket, PROVIDER_EVENTS.error, ExecutionErrorSchema, async (msg, providerId) => (providerId ? handleExecutionError(app, providerId, msg) : notRegistered));
    on(app, socket, PROVIDER_EVENTS.release, ReleaseSchema, async (msg, providerId) => {
      if (!providerId) return notRegistered;
      const a = await app.db.prisma.assignment.findUnique({ where: { id: msg.assignmentId }, select: { providerId: true } });
      if (!a || a.providerId !== providerId) return { ok: false, error: { code: "ASSIGNMENT_NOT_FOUND", message: "not your assignment" } };
      await loseAssignment(app, msg.assignmentId, "released");
    });
    on(app, socket, PROVIDER_EVENTS.price, PriceSchema, async (msg, providerId) => (providerId ? reprice(app, providerId, msg) : notRegistered));
    on(app, socket, PROVIDER_EVENTS.drain, DrainSchema.optional(), async (_msg, providerId) => {
      if (!providerId) return notRegistered;
      app.providers.setDraining(providerId);
    });
    on(app, socket, PROVIDER_EVENTS.heartbeat, HeartbeatSchema, async (_msg, providerId) => {
      if (!providerId) return notRegistered;
      await renewLeases(app.db.prisma, providerId, new Date(Date.now() + app.config.LEASE_MS));
    });
    socket.on("disconnect", (why) => {
      // After shutdown's clean-up the database may be gone; a straggler is left to the next
      // start's recovery (or to its lease).
      if (closed) return;
      // The server closing its own sockets (shutdown) says nothing against the tasks: their
      // executions go back to the queue without using up an attempt.
      const reason = why === "server namespace disconnect" || why === "server shutting down" ? "restart" : "disconnect";
      const cleanup = disconnected(app, socket, reason).finally(() => pending.delete(cleanup));
      pending.add(cleanup);
    });
  });
  return {
    nsp,
    async settle() {
      while (pending.size) await Promise.all([...pending]);
      closed = true;
      unrelayCancels();
    },
  };
}

/** The network prefix the provider connects from (qa/quorum.ts: quorums prefer distinct ones). */
function netOf(app: AppContext, socket: Socket): string | undefined {
  return networkPrefix(clientIp(socket.request, app.config.trustProxy));
}

/** Checks evidence against the nonce this socket was issued last, which it uses up. */
async function checkEvidence(app: AppContext, socket: Socket, tee: TeeEvidence | undefined): Promise<AttestationOutcome | undefined> {
  if (!tee) return undefined;
  const nonce = socket.data.teeNonce as string | undefined;
  socket.data.teeNonce = undefined;
  return attestEvidence(app, tee, nonce);
}

/** The provider row's TEE columns for an outcome (none: not a TEE provider). */
const teeColumns = (tee: TeeEvidence | undefined, outcome: AttestationOutcome | undefined) => ({
  teeAttestation: outcome ? (outcome.view as Prisma.InputJsonValue) : Prisma.DbNull,
  teeEvidence: outcome?.key && tee ? (tee as Prisma.InputJsonValue) : Prisma.DbNull,
});

/** provider:attest: fresh evidence (same or new key) replaces the old; refused evidence takes the provider out of sealed work. */
async function reattest(app: AppContext, socket: Socket, providerId: string, tee: TeeEvidence): Promise<Ack> {
  const outcome = await checkEvidence(app, socket, tee);
  await app.db.prisma.provider.update({ where: { id: providerId }, data: teeColumns(tee, outcome) });
  app.providers.setTee(providerId, outcome?.key);
  if (outcome?.key) app.bus.workAvailable("here");
  return outcome?.key ? { ok: true } : { ok: false, error: outcome!.view.reason ?? { code: "EVIDENCE_MALFORMED", message: "refused" } };
}

async function register(app: AppContext, socket: Socket, reg: Register): Promise<RegisterAck> {
  const accountId = socket.data.accountId as string;
  const price = BigInt(reg.price);
  const pricePerUnit = BigInt(reg.pricePerUnit ?? "0");
  const attestation = await checkEvidence(app, socket, reg.tee);
  const fields = {
    ...teeColumns(reg.tee, attestation),
    netPrefix: netOf(app, socket) ?? null,
    kind: reg.kind,
    backend: reg.backend,
    region: reg.region,
    price,
    pricePerUnit,
    slots: reg.slots,
    specs: reg.specs,
    online: true,
    instanceId: app.config.INSTANCE_ID,
    lastSeenAt: new Date(),
  };
  const before = await app.db.prisma.provider.findUnique({ where: { accountId_name: { accountId, name: reg.name } }, select: { online: true, instanceId: true } });
  const row = await app.db.prisma.provider.upsert({
    where: { accountId_name: { accountId, name: reg.name } },
    create: { id: newId("prv"), accountId, name: reg.name, ...fields },
    update: fields,
  });
  // The same provider connecting again (a reconnect racing the old socket's timeout): the new
  // socket replaces the old one, whose assignments are lost.
  const previous = app.providers.get(row.id);
  if (previous && previous.socket.id !== socket.id) {
    previous.socket.data.replaced = true;
    previous.socket.disconnect(true);
    await dropProvider(app, row.id, "disconnect");
  } else if (!previous) {
    // Several instances: a provider that comes here from another instance's connection left
    // assignments there, which that connection can no longer answer (and which our heartbeats
    // would keep alive). They go back to the queue: free when that instance is dead (its crash
    // is not the task's fault), else as a disconnect.
    const elsewhere = before?.online && before.instanceId && before.instanceId !== app.config.INSTANCE_ID ? before.instanceId : undefined;
    const reason = elsewhere && app.presence && !(await app.presence.isAlive(elsewhere)) ? "restart" : "disconnect";
    await loseLiveAssignments(app, row.id, reason);
  }
  socket.data.providerId = row.id;
  await socket.join(`provider:${row.id}`);
  const gpu = reg.specs.gpus[0];
  app.providers.add({
    id: row.id,
    accountId,
    name: reg.name,
    kind: reg.kind,
    backend: reg.backend,
    region: reg.region,
    price,
    pricePerUnit,
    slots: reg.slots,
    reputation: row.reputation,
    completed: row.tasksCompleted,
    failed: row.tasksRejected + row.tasksFailed,
    vramMb: gpu?.vramMb ?? 0,
    computeCapability: gpu?.computeCapability ?? 0,
    benchmarkIps: reg.specs.benchmarkIps ?? 0,
    socket,
    active: new Map(),
    draining: false,
    ...(attestation?.key ? { tee: attestation.key } : {}),
  });
  app.metrics.providersOnline.set(app.providers.size);
  app.log.info({ providerId: row.id, name: reg.name, backend: reg.backend, slots: reg.slots, tee: attestation?.view.status }, "provider registered");
  app.bus.workAvailable("here");
  return { ok: true, providerId: row.id };
}

/** The provider's live assignments (only `ids` when given) go back to the queue; how many. */
async function loseLiveAssignments(app: AppContext, providerId: string, reason: "disconnect" | "restart", ids?: string[]): Promise<number> {
  const live = await liveAssignmentIds(rawSql(app.db), providerId, ids);
  for (const id of live) await loseAssignment(app, id, reason);
  return live.length;
}

/**
 * Removes a provider from matching; its live work goes back to the queue — only what this
 * instance handed it when it has registered on another instance since (that instance holds the rest).
 */
async function dropProvider(app: AppContext, providerId: string, reason: "disconnect" | "restart"): Promise<void> {
  const p = app.providers.remove(providerId);
  app.metrics.providersOnline.set(app.providers.size);
  const row = await app.db.prisma.provider.findUnique({ where: { id: providerId }, select: { online: true, instanceId: true } });
  const movedAway = row?.online === true && row.instanceId !== null && row.instanceId !== app.config.INSTANCE_ID;
  const requeued = await loseLiveAssignments(app, providerId, reason, movedAway ? [...(p?.active.keys() ?? [])] : undefined);
  if (p) app.log.info({ providerId, requeued }, "provider left");
}

async function disconnected(app: AppContext, socket: Socket, reason: "disconnect" | "restart"): Promise<void> {
  const providerId = socket.data.providerId as string | undefined;
  if (!providerId || socket.data.replaced) return;
  const current = app.providers.get(providerId);
  if (current && current.socket.id !== socket.id) return;
  try {
    await dropProvider(app, providerId, reason);
    // Offline only while the row still names this instance: the provider may be on another already.
    await app.db.prisma.provider.updateMany({ where: { id: providerId, instanceId: app.config.INSTANCE_ID }, data: { online: false, instanceId: null, lastSeenAt: new Date() } });
  } catch (e) {
    app.log.error({ err: e, providerId }, "cleanup after disconnect failed");
  }
}
