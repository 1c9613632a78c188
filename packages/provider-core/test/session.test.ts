// ProviderSession against a real socket.io server (support/market.ts), with a stand-in executor:
// the executor is what each agent adapts, the session is what is under test.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RegisterSchema, type Assign, type Result, type TeeEvidence } from "@stun/shared";
import { ProviderError } from "../src/errors";
import { ProviderSession, type SessionEvent, type TaskExecutor } from "../src/session";
import { openProviderSocket, openProviderSockets } from "../src/socket";
import { MARKET_KEY, type Market, startMarket, waitFor } from "./support/market";

let market: Market;
const sessions: ProviderSession[] = [];

beforeEach(async () => {
  market = await startMarket();
});
afterEach(async () => {
  for (const s of sessions.splice(0)) await s.stop(0);
  await market.close();
});

const output = (): Omit<Result, "assignmentId"> => ({ outputs: { y: { dtype: "int32", dims: [1], data: Uint8Array.of(7, 0, 0, 0) } }, timings: { fetchMs: 1, loadMs: 2, runMs: 3 } });

/** An executor whose runs finish when the test says so (or at once with `instant`). */
function gatedExecutor(instant = false) {
  const runs = new Map<string, { resolve: (r?: Omit<Result, "assignmentId">) => void; reject: (e: unknown) => void; signal: AbortSignal }>();
  let busy: string | undefined;
  const executor: TaskExecutor = {
    execute: (a: Assign, signal: AbortSignal) =>
      instant ? Promise.resolve(output()) : new Promise((resolve, reject) => runs.set(a.assignmentId, { resolve: (r) => resolve(r ?? output()), reject, signal })),
    busyReason: () => busy,
  };
  return { executor, runs, setBusy: (b: string | undefined) => (busy = b) };
}

function newSession(executor: TaskExecutor, extra: { slots?: number; heartbeatMs?: number; key?: string; attest?: (nonce: string) => Promise<TeeEvidence>; attestEveryMs?: number } = {}) {
  const events: SessionEvent[] = [];
  const session = new ProviderSession({
    socket: openProviderSocket(market.url, extra.key ?? MARKET_KEY, { reconnectDelayMs: 50 }),
    registration: RegisterSchema.parse({ name: "p1", kind: "native", backend: "cpu", price: "5", slots: extra.slots ?? 1, specs: { cores: 2, memoryMb: 0 } }),
    executor,
    onEvent: (e) => events.push(e),
    heartbeatMs: extra.heartbeatMs ?? 100,
    ackTimeoutMs: 300,
    ...(extra.attest ? { attest: extra.attest, attestEveryMs: extra.attestEveryMs ?? 0 } : {}),
  });
  sessions.push(session);
  return { session, events };
}

const finished = (events: SessionEvent[], id: string) => events.find((e): e is Extract<SessionEvent, { type: "finished" }> => e.type === "finished" && e.assign.assignmentId === id);

describe("ProviderSession", () => {
  it("a TEE agent answers a fresh challenge with evidence at every registration, re-attests on its schedule, and hears a refusal", async () => {
    const evidence = async (nonce: string): Promise<TeeEvidence> => ({ kind: "simulated", publicKey: "A".repeat(43) + "=", nonce, quote: "AAAA" });
    const { session, events } = newSession(gatedExecutor(true).executor, { attest: evidence, attestEveryMs: 150 });
    await session.start();
    expect(market.registrations[0]!.tee).toEqual(await evidence(market.nonces[0]!));
    await waitFor(() => market.attestations.length >= 2);
    // Each piece of evidence answers the nonce handed out just before it.
    expect((market.attestations[0] as TeeEvidence).nonce).toBe(market.nonces[1]);
    expect((market.attestations[1] as TeeEvidence).nonce).toBe(market.nonces[2]);
    market.attestAcks.push({ ok: false, error: { code: "SIGNATURE_INVALID", message: "bad" } });
    await waitFor(() => events.find((e) => e.type === "attest-refused"));
    // A reconnect registers again with evidence for a new nonce.
    market.socket().conn.close(); // the connection drops (not a server disconnect): socket.io reconnects
    await waitFor(() => market.registrations.length >= 2);
    const second = market.registrations[1]!.tee!;
    expect(market.nonces).toContain(second.nonce);
    expect(second.nonce).not.toBe(market.registrations[0]!.tee!.nonce);
  });

  it("a TEE agent whose evidence cannot be made stops with TEE_UNAVAILABLE", async () => {
    const { session, events } = newSession(gatedExecutor(true).executor, {
      attest: async () => {
        throw new ProviderError("TEE_UNAVAILABLE", "configfs-tsm report failed");
      },
    });
    await expect(session.start()).rejects.toThrow(/configfs-tsm report failed/);
    expect(events.find((e) => e.type === "fatal")).toMatchObject({ code: "TEE_UNAVAILABLE" });
    expect(market.registrations).toEqual([]);
  });

  it("registers, heartbeats, runs an assignment and delivers its result", async () => {
    const { session, events } = newSession(gatedExecutor(true).executor);
    expect(await session.start()).toBe("prv_p1");
    expect(market.registrations[0]).toMatchObject({ name: "p1", kind: "native", slots: 1 });
    await waitFor(() => market.heartbeats.length >= 2);
    expect(await market.assign({ assignmentId: "asg_1" })).toEqual({ ok: true });
    const r = await waitFor(() => market.results[0]);
    expect(r).toMatchObject({ assignmentId: "asg_1", timings: { runMs: 3 } });
    expect(new Uint8Array(r.outputs.y!.data as Uint8Array)).toEqual(Uint8Array.of(7, 0, 0, 0)); // a binary attachment
    await waitFor(() => finished(events, "asg_1"));
    expect(finished(events, "asg_1")).toMatchObject({ outcome: "delivered", event: "task:result" });
  });

  it("acks VALIDATION_FAILED, ok for a repeat, BUSY when full or when the executor says so, DRAINING when stopping", async () => {
    const g = gatedExecutor();
    const { session } = newSession(g.executor);
    await session.start();
    const bad = (await market.socket().timeout(2000).emitWithAck("task:assign", { assignmentId: "asg_x" })) as { ok: boolean; error?: { code: string } };
    expect(bad).toMatchObject({ ok: false, error: { code: "VALIDATION_FAILED" } });
    expect(await market.assign({ assignmentId: "asg_1" })).toEqual({ ok: true });
    expect(await market.assign({ assignmentId: "asg_1" })).toEqual({ ok: true });
    expect(await market.assign({ assignmentId: "asg_2" })).toMatchObject({ ok: false, error: { code: "BUSY", message: "all 1 slot(s) are busy" } });
    await waitFor(() => market.heartbeats.some((h) => h.active === 1));
    g.runs.get("asg_1")!.resolve();
    await waitFor(() => market.results.length === 1 && session.active === 0);
    g.setBusy("resting (throttle)");
    expect(await market.assign({ assignmentId: "asg_3" })).toMatchObject({ ok: false, error: { code: "BUSY", message: "resting (throttle)" } });
    g.setBusy(undefined);
    expect(await market.assign({ assignmentId: "asg_4" })).toEqual({ ok: true });
    const stopping = session.stop(10_000); // waits for asg_4
    await waitFor(() => market.drains === 1);
    expect(await market.assign({ assignmentId: "asg_5" })).toMatchObject({ ok: false, error: { code: "DRAINING" } });
    g.runs.get("asg_4")!.resolve();
    await stopping;
    expect(market.results.map((r) => r.assignmentId)).toEqual(["asg_1", "asg_4"]); // the running task finished and was delivered
  });

  it("retries a registration the server answers with a retryable error; a fatal one rejects start()", async () => {
    market.registerAcks.push({ ok: false, error: { code: "INTERNAL", message: "try again" } });
    const { session, events } = newSession(gatedExecutor(true).executor);
    expect(await session.start()).toBe("prv_p1");
    expect(market.registrations).toHaveLength(2);
    expect(events.find((e) => e.type === "register-retry")).toMatchObject({ code: "INTERNAL" });

    market.registerAcks.push({ ok: false, error: { code: "VALIDATION_FAILED", message: "no" } });
    const second = newSession(gatedExecutor(true).executor);
    await expect(second.session.start()).rejects.toThrow(/registration rejected: VALIDATION_FAILED/);
    expect(second.events.find((e) => e.type === "fatal")).toMatchObject({ code: "VALIDATION_FAILED" });
  });

  it("a refused API key rejects start() instead of retrying forever", async () => {
    const { session, events } = newSession(gatedExecutor(true).executor, { key: "wrong" });
    await expect(session.start()).rejects.toThrow(/refused the connection: UNAUTHORIZED/);
    expect(events.filter((e) => e.type === "fatal")).toHaveLength(1);
  });

  it("answers task:error with the executor's ProviderError code, RUN_FAILED for anything else", async () => {
    let n = 0;
    const { session } = newSession({
      execute: async () => {
        throw n++ === 0 ? new ProviderError("MODEL_HASH_MISMATCH", "bad bytes") : new Error("kaboom");
      },
    });
    await session.start();
    await market.assign({ assignmentId: "asg_a" });
    await waitFor(() => market.errors[0] && session.active === 0);
    await market.assign({ assignmentId: "asg_b" });
    await waitFor(() => market.errors[1]);
    expect(market.errors).toEqual([
      { assignmentId: "asg_a", code: "MODEL_HASH_MISMATCH", message: "bad bytes" },
      { assignmentId: "asg_b", code: "RUN_FAILED", message: "kaboom" },
    ]);
  });

  it("retries an answer whose ack never came", async () => {
    const { session, events } = newSession(gatedExecutor(true).executor);
    await session.start();
    market.dropAnswers = 1;
    await market.assign({ assignmentId: "asg_r" });
    expect((await waitFor(() => market.results[0])).assignmentId).toBe("asg_r");
    expect(events.some((e) => e.type === "delivery-retry")).toBe(true);
  });

  it("task:cancel aborts the executor's signal and drops the answer", async () => {
    const g = gatedExecutor();
    const { session, events } = newSession(g.executor);
    await session.start();
    await market.assign({ assignmentId: "asg_c" });
    market.socket().emit("task:cancel", { assignmentId: "asg_c", reason: "requester cancelled" });
    await waitFor(() => g.runs.get("asg_c")?.signal.aborted);
    g.runs.get("asg_c")!.resolve();
    await waitFor(() => finished(events, "asg_c"));
    expect(finished(events, "asg_c")).toMatchObject({ outcome: "cancelled" });
    expect(market.results).toEqual([]);
  });

  it("after a dropped connection it registers again and delivers a run that finished meanwhile", async () => {
    const g = gatedExecutor();
    const { session, events } = newSession(g.executor);
    await session.start();
    await market.assign({ assignmentId: "asg_n" });
    market.socket().conn.close(); // the network goes away
    await waitFor(() => g.runs.get("asg_n")?.signal.aborted); // a download would stop here
    g.runs.get("asg_n")!.resolve(); // but a run that completes is still offered to the server
    await waitFor(() => market.registrations.length === 2);
    expect((await waitFor(() => market.results[0])).assignmentId).toBe("asg_n");
    expect(await waitFor(() => finished(events, "asg_n"))).toMatchObject({ outcome: "delivered" });
  });

  it("an execution that fails after its signal aborted is given up ('lost'), not reported, and its slot is free", async () => {
    const g = gatedExecutor();
    const { session, events } = newSession(g.executor);
    await session.start();
    await market.assign({ assignmentId: "asg_l" });
    market.socket().conn.close();
    const run = await waitFor(() => (g.runs.get("asg_l")?.signal.aborted ? g.runs.get("asg_l") : undefined));
    run.reject(run.signal.reason);
    await waitFor(() => finished(events, "asg_l"));
    expect(finished(events, "asg_l")).toMatchObject({ outcome: "lost", code: "MODEL_FETCH_FAILED" });
    expect(session.active).toBe(0);
    await waitFor(() => market.registrations.length === 2);
    expect(await market.assign({ assignmentId: "asg_next" })).toEqual({ ok: true });
    expect(market.errors).toEqual([]);
  });

  it("the end of an unextended lease aborts the executor's signal", async () => {
    const g = gatedExecutor();
    const { session } = newSession(g.executor, { heartbeatMs: 60_000 }); // no heartbeat extends the lease
    await session.start();
    await market.assign({ assignmentId: "asg_lease", leaseMs: 200 });
    const run = await waitFor(() => g.runs.get("asg_lease"));
    expect(run.signal.aborted).toBe(false);
    await waitFor(() => run.signal.aborted);
    expect((run.signal.reason as ProviderError).message).toMatch(/lease ended/);
  });

  it("stop() with a short grace period releases what is still running and disconnects", async () => {
    const g = gatedExecutor();
    const { session, events } = newSession(g.executor);
    await session.start();
    await market.assign({ assignmentId: "asg_rel" });
    await session.stop(50);
    expect(market.drains).toBe(1);
    expect(market.releases).toEqual(["asg_rel"]);
    expect(g.runs.get("asg_rel")!.signal.aborted).toBe(true);
    g.runs.get("asg_rel")!.resolve();
    await waitFor(() => finished(events, "asg_rel"));
    expect(finished(events, "asg_rel")).toMatchObject({ outcome: "released" });
    expect(events.some((e) => e.type === "stopped")).toBe(true);
    expect(market.results).toEqual([]);
  });

  it("with several servers, skips one it cannot reach, and when its server goes away fails over to the next, registers there and delivers the running task's answer", async () => {
    const second = await startMarket();
    try {
      const g = gatedExecutor();
      const events: SessionEvent[] = [];
      const session = new ProviderSession({
        // Port 1: connection refused at once.
        socket: openProviderSockets(`http://127.0.0.1:1,${market.url},${second.url}/`, MARKET_KEY, { reconnectDelayMs: 50 }),
        registration: RegisterSchema.parse({ name: "p1", kind: "native", backend: "cpu", price: "5", slots: 1, specs: { cores: 2, memoryMb: 0 } }),
        executor: g.executor,
        onEvent: (e) => events.push(e),
        heartbeatMs: 100,
        ackTimeoutMs: 300,
      });
      sessions.push(session);
      expect(await session.start()).toBe("prv_p1");
      expect(session.serverIndex).toBe(1);
      expect(events.find((e) => e.type === "failover")).toMatchObject({ index: 1 });
      expect(await market.assign({ assignmentId: "asg_1" })).toEqual({ ok: true });
      await market.close();
      await waitFor(() => second.registrations.length === 1);
      expect(session.serverIndex).toBe(2);
      g.runs.get("asg_1")!.resolve();
      expect(await waitFor(() => second.results[0])).toMatchObject({ assignmentId: "asg_1" });
      expect(market.results).toEqual([]);
    } finally {
      await second.close();
    }
  });
});
