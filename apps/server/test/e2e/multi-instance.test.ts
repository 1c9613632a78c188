import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, it } from "vitest";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { createSiweMessage } from "viem/siwe";
import { base58 } from "@scure/base";
import { createSignInMessageText, solanaWallet, tonProof, tonWallet } from "../support/wallet-signers";
import { buildMlp, buildSlowModel } from "@stun/testkit";
import { endOpenTask } from "../../src/tasks/lifecycle";
import { createDatabase } from "../../src/db/database";
import { parseConfig } from "../../src/env";
import { startServer } from "../../src/server";
import { describeDb, testDbKind } from "../support/database";
import { eventually, spawnProvider, startTestNetwork } from "../support/network";
import { api, float32Of, runTask, toJsonTensor, uploadModel } from "../support/api";
import { connectWatcher } from "../support/requester-watch";

const REDIS_URL = "redis://127.0.0.1:6379";
// This test's own namespace in the shared Redis: another run on the machine never hears its events.
const REDIS_PREFIX = `stun-test-${process.pid}-${Date.now().toString(36)}`;

/**
 * Several stateless instances serve one network: work is claimed from PostgreSQL, events cross
 * instances through Redis, blobs live in the database (BLOB_STORE=postgres) and each instance has a
 * DATA_DIR of its own. Needs a shared database, so it runs in the PostgreSQL project.
 */
describeDb("two server instances sharing PostgreSQL and Redis, with no shared filesystem", () => {
  it.runIf(testDbKind === "postgres")(
    "runs a task submitted to one instance on a provider of the other, wakes the long-poll, and counts the provider in both instances' /health; B takes its provider's row back when A took it offline",
    async () => {
      const net = await startTestNetwork({ env: { REDIS_URL, REDIS_PREFIX, INSTANCE_ID: "instance-a", BLOB_STORE: "postgres" } });
      const dbB = await createDatabase({ url: net.db.url! });
      const dataDirB = mkdtempSync(path.join(os.tmpdir(), "stun-test-b-"));
      const b = await startServer(parseConfig({ PORT: "0", DATA_DIR: dataDirB, LOG_LEVEL: "warn", STUN_FSYNC: "false", REDIS_URL, REDIS_PREFIX, INSTANCE_ID: "instance-b", BLOB_STORE: "postgres" }), {
        db: dbB,
      });
      const provider = await spawnProvider(b.url, net.providerApiKey, "on-b", ["--price", "10"]);
      try {
        const listed = (await api(net.url, "GET", "/providers", { key: net.apiKey })).body.providers;
        expect(listed.map((p: { id: string }) => p.id)).toEqual([provider.providerId]);
        // /health on either instance counts the network's providers (Provider.online), not its own.
        expect((await api(net.url, "GET", "/health")).body).toEqual({ status: "ok", providers: { online: 1 } });
        expect((await api(b.url, "GET", "/health")).body).toEqual({ status: "ok", providers: { online: 1 } });

        const mlp = buildMlp({ inputSize: 4, hidden: [8], outputSize: 3, seed: 5 });
        const modelId = await uploadModel(net.url, net.apiKey, mlp.bytes);
        const x = new Float32Array([0.5, -1, 2, 0]);
        // Instance A hears of the completion, which happens on B, only through the Redis relay.
        const heardOnA: string[] = [];
        const off = net.server.app.bus.onTask((u) => heardOnA.push(`${u.taskId}:${u.status}`));
        const done = await runTask(net.url, net.apiKey, {
          modelId,
          inputs: { x: toJsonTensor({ dtype: "float32", dims: [1, 4], data: new Uint8Array(x.buffer) }) },
          verification: { mode: "none" },
        });
        expect(done.status).toBe("completed");
        off();
        expect(heardOnA).toContain(`${done.id}:completed`);
        const y = float32Of(done.outputs.y);
        const expected = mlp.forward(x, 1);
        for (let i = 0; i < 3; i++) expect(y[i]).toBeCloseTo(expected[i]!, 4);
        expect(done.verification.executions[0].providerId).toBe(provider.providerId);
        // The model was uploaded to A, the input submitted to A; B (no shared files) read both to
        // dispatch, and A serves the output B stored.
        expect((await api(net.url, "GET", `/tasks/${done.id}/outputs`, { key: net.apiKey })).status).toBe(200);
        // B stalled past its presence TTL and A took B's provider offline: B, which still holds
        // the provider's socket, takes the row back.
        await net.db.prisma.provider.update({ where: { id: provider.providerId }, data: { online: false, instanceId: null } });
        await eventually(async () => (await net.db.prisma.provider.findUniqueOrThrow({ where: { id: provider.providerId } })).instanceId === "instance-b", 10_000, "the row back online on B");
      } finally {
        await provider.kill();
        await b.close();
        await dbB.close();
        await net.close();
        rmSync(dataDirB, { recursive: true, force: true });
      }
    },
  );

  it.runIf(testDbKind === "postgres")(
    "shares SIWE, SIWS and ton_proof nonces (issued by A, verified once on B, refused again on A) and recovers the provider rows of an instance whose presence key expired",
    async () => {
      const shared = { REDIS_URL, REDIS_PREFIX, BLOB_STORE: "postgres", SIWE_DOMAINS: "stun.test" };
      const net = await startTestNetwork({ env: { ...shared, INSTANCE_ID: "instance-a" } });
      const dbB = await createDatabase({ url: net.db.url! });
      const dataDirB = mkdtempSync(path.join(os.tmpdir(), "stun-test-b-"));
      const b = await startServer(parseConfig({ PORT: "0", DATA_DIR: dataDirB, LOG_LEVEL: "warn", STUN_FSYNC: "false", ...shared, INSTANCE_ID: "instance-b" }), { db: dbB });
      try {
        const wallet = privateKeyToAccount(generatePrivateKey());
        const nonce = (await api(net.url, "POST", "/auth/siwe/nonce")).body.nonce as string;
        const message = createSiweMessage({
          domain: "stun.test",
          address: wallet.address,
          uri: "https://stun.test",
          version: "1",
          chainId: 31337,
          nonce,
          issuedAt: new Date(),
          expirationTime: new Date(Date.now() + 60_000),
        });
        const signature = await wallet.signMessage({ message });
        const onB = await api(b.url, "POST", "/auth/siwe/verify", { json: { message, signature } });
        expect(onB.status).toBe(200);
        const againOnA = await api(net.url, "POST", "/auth/siwe/verify", { json: { message, signature } });
        expect(againOnA.status).toBe(401);
        expect(againOnA.body.error.code).toBe("SIWE_INVALID");

        // The Solana and TON families share the store under their own prefix: a SIWS nonce and a
        // ton_proof payload issued by A verify once on B, and never again on A.
        const sol = solanaWallet();
        const siws = createSignInMessageText({
          domain: "stun.test",
          address: sol.address,
          uri: "https://stun.test",
          version: "1",
          chainId: "mainnet",
          nonce: (await api(net.url, "POST", "/auth/siws/nonce")).body.nonce,
          issuedAt: new Date().toISOString(),
        });
        const siwsBody = { message: siws, signature: base58.encode(sol.sign(siws)), publicKey: sol.address };
        expect((await api(b.url, "POST", "/auth/siws/verify", { json: siwsBody })).status).toBe(200);
        expect((await api(net.url, "POST", "/auth/siws/verify", { json: siwsBody })).body.error.code).toBe("SIWS_INVALID");
        const proof = tonProof(tonWallet(), { domain: "stun.test", payload: (await api(net.url, "POST", "/auth/ton-proof/payload")).body.payload });
        expect((await api(b.url, "POST", "/auth/ton-proof/verify", { json: proof })).status).toBe(200);
        expect((await api(net.url, "POST", "/auth/ton-proof/verify", { json: proof })).body.error.code).toBe("TON_PROOF_INVALID");

        // A provider row an instance that no longer exists left online (its process was killed): a
        // surviving instance's presence sweep sets it offline, so /health stops counting it.
        await net.db.prisma.provider.create({
          data: { id: "prv_ghost", accountId: net.providerAccountId, name: "ghost", kind: "native", backend: "cpu", region: "local", price: 1n, specs: {}, online: true, instanceId: "instance-gone" },
        });
        expect((await api(b.url, "GET", "/health")).body.providers.online).toBe(1);
        await eventually(async () => !(await net.db.prisma.provider.findUniqueOrThrow({ where: { id: "prv_ghost" } })).online, 10_000, "the ghost provider offline");
        expect((await api(b.url, "GET", "/health")).body.providers.online).toBe(0);
      } finally {
        await b.close();
        await dbB.close();
        await net.close();
        rmSync(dataDirB, { recursive: true, force: true });
      }
    },
  );

  it.runIf(testDbKind === "postgres")("a task ended on one instance cancels its execution on a provider connected to the other", async () => {
    const shared = { REDIS_URL, REDIS_PREFIX, BLOB_STORE: "postgres" };
    const net = await startTestNetwork({ env: { ...shared, INSTANCE_ID: "instance-a" } });
    const dbB = await createDatabase({ url: net.db.url! });
    const dataDirB = mkdtempSync(path.join(os.tmpdir(), "stun-test-b-"));
    const b = await startServer(parseConfig({ PORT: "0", DATA_DIR: dataDirB, LOG_LEVEL: "warn", STUN_FSYNC: "false", ...shared, INSTANCE_ID: "instance-b" }), { db: dbB });
    const provider = await spawnProvider(b.url, net.providerApiKey, "on-b", ["--price", "10"]);
    try {
      const slow = buildSlowModel({ ms: 3000 });
      const modelId = await uploadModel(net.url, net.apiKey, slow.bytes);
      const x = new Float32Array(slow.size).fill(0.5);
      const sub = await api(net.url, "POST", "/tasks", {
        key: net.apiKey,
        json: { modelId, inputs: { x: toJsonTensor({ dtype: "float32", dims: [1, slow.size], data: new Uint8Array(x.buffer) }) }, verification: { mode: "none" } },
      });
      expect(sub.status).toBe(202);
      const running = await eventually(async () => net.db.prisma.assignment.findFirst({ where: { taskId: sub.body.id, status: "running" } }), 30_000, "the execution running on B's provider");
      expect(b.app.providers.get(provider.providerId)?.active.has(running.id)).toBe(true);
      // Instance A ends the task (as its deadline sweeper would): it holds no socket to the provider.
      expect(await endOpenTask(net.server.app, sub.body.id, "failed", "EXECUTION_FAILED", "ended on instance A")).toBe(true);
      await provider.waitForLine((l) => l.msg === "task cancel received" && l.assignmentId === running.id, 10_000);
      expect(b.app.providers.get(provider.providerId)?.active.size).toBe(0);
      expect((await net.db.prisma.assignment.findUniqueOrThrow({ where: { id: running.id } })).status).toBe("cancelled");
    } finally {
      await provider.kill();
      await b.close();
      await dbB.close();
      await net.close();
      rmSync(dataDirB, { recursive: true, force: true });
    }
  });
});

describeDb("pushed task updates across two instances", () => {
  it.runIf(testDbKind === "postgres")("a requester's socket on either instance hears its task, run on the other, once", async () => {
    const net = await startTestNetwork({ env: { REDIS_URL, REDIS_PREFIX: `${REDIS_PREFIX}-push`, INSTANCE_ID: "instance-a" } });
    const dbB = await createDatabase({ url: net.db.url! });
    const b = await startServer(parseConfig({ PORT: "0", DATA_DIR: net.dataDir, LOG_LEVEL: "warn", STUN_FSYNC: "false", REDIS_URL, REDIS_PREFIX: `${REDIS_PREFIX}-push`, INSTANCE_ID: "instance-b" }), {
      db: dbB,
    });
    const provider = await spawnProvider(b.url, net.providerApiKey, "on-b", ["--price", "10"]);
    const onA = await connectWatcher(net.url, net.apiKey);
    const onB = await connectWatcher(b.url, net.apiKey);
    try {
      expect(await onA.subscribe()).toEqual({ ok: true });
      expect(await onB.subscribe()).toEqual({ ok: true });
      const modelId = await uploadModel(net.url, net.apiKey, buildMlp({ inputSize: 4, hidden: [8], outputSize: 3, seed: 6 }).bytes);
      const submit = async () => {
        const x = new Float32Array([0.5, -1, 2, 0]);
        const res = await api(net.url, "POST", "/tasks", {
          key: net.apiKey,
          json: { modelId, inputs: { x: toJsonTensor({ dtype: "float32", dims: [1, 4], data: new Uint8Array(x.buffer) }) }, verification: { mode: "none" } },
        });
        return res.body.id as string;
      };
      // Submitted on A, run by B's provider: A's socket hears the completion through the relay, B's
      // hears of a task it learnt the requester of from the relayed submit.
      const first = await submit();
      expect(await onA.terminal(first)).toEqual({ taskId: first, status: "completed" });
      expect(await onB.terminal(first)).toEqual({ taskId: first, status: "completed" });
      // A later task as the barrier: by its end any duplicate of the first would have arrived.
      const second = await submit();
      await onA.terminal(second);
      await onB.terminal(second);
      for (const w of [onA, onB]) expect(w.heard.filter((u) => u.taskId === first && u.status === "completed")).toHaveLength(1);
    } finally {
      onA.socket.close();
      onB.socket.close();
      await provider.kill();
      await b.close();
      await dbB.close();
      await net.close();
    }
  });
});
