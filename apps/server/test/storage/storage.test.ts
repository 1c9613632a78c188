import { existsSync, utimesSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { afterEach, expect, it } from "vitest";
import { buildMlp } from "@stun/testkit";
import { serializeTensorMap, tensorMapFromJson, type TensorMapJson } from "@stun/shared";
import { sha256Hex } from "../../src/blobs/blob-store";
import type { FsBlobStore } from "../../src/blobs/fs-blob-store";
import type { AppContext } from "../../src/context";
import { createDatabase, type Database } from "../../src/db/database";
import { parseConfig } from "../../src/env";
import { SYSTEM_TREASURY, checkLedgerInvariants, getBalances, getLedgerBalance } from "../../src/ledger";
import { startServer, type RunningServer } from "../../src/server";
import { collectGarbage } from "../../src/storage/blob-gc";
import { claimSweep, sweepStorage } from "../../src/storage/storage-sweeper";
import { describeDb, testDbKind } from "../support/database";
import { eventually, startTestNetwork, type TestNetwork } from "../support/network";
import { api, runTask, toJsonTensor, uploadModel, waitTask } from "../support/api";

const inputOf = (values: number[]): TensorMapJson => ({
  x: toJsonTensor({ dtype: "float32", dims: [1, 4], data: new Uint8Array(Float32Array.from(values).buffer) }),
});
/** The bytes the server stores for these inputs (the STNT container), hence the quota charge and blob address. */
const storedInput = (inputs: TensorMapJson): Uint8Array => serializeTensorMap(tensorMapFromJson(inputs));
const blobExists = (app: AppContext, sha: string): Promise<boolean> => app.blobs.has(sha);
/** Makes a blob look last written at `when`, wherever the store keeps it (the table for small blobs, else a file). */
async function ageBlob(app: AppContext, sha: string, when: Date): Promise<void> {
  await app.db.prisma.blob.updateMany({ where: { sha256: sha }, data: { touchedAt: when } });
  const disk = app.blobs as unknown as { pathOf?(sha: string): string; disk?: FsBlobStore };
  const file = disk.pathOf?.(sha) ?? disk.disk?.pathOf(sha);
  if (file && existsSync(file)) utimesSync(file, when, when);
}
const hoursAgo = (h: number): Date => new Date(Date.now() - h * 3_600_000);
/** A moment past the default retention (7 days) and grace: what the sweep sees a week from now. */
const nextWeek = (): Date => new Date(Date.now() + (7 * 24 + 2) * 3_600_000);

const me = async (net: TestNetwork, key = net.apiKey) => (await api(net.url, "GET", "/accounts/me", { key })).body;

describeDb("storage: retention, blob garbage collection, quotas", () => {
  let net: TestNetwork | undefined;
  afterEach(async () => {
    await net?.close();
    net = undefined;
  });

  it("deletes a finished task's input and output after retention (outputs answer 410, the row and receipt stay) but keeps blobs a live task, a live canary — also of a purged source — or model still references; a finished canary's data goes at the next sweep", async () => {
    net = await startTestNetwork({ providers: 1, providerArgs: () => ["--price", "10"], env: { CANARY_RATE: "1" } });
    const app = net.server.app;
    const prisma = net.db.prisma;
    const mlp = buildMlp({ inputSize: 4, hidden: [8], outputSize: 3, seed: 7 });
    const modelId = await uploadModel(net.url, net.apiKey, mlp.bytes);
    const x = inputOf([1, 2, 3, 4]);
    const done = await runTask(net.url, net.apiKey, { modelId, inputs: x, verification: { mode: "none" } });
    expect(done.status).toBe("completed");
    const before = await api(net.url, "GET", `/tasks/${done.id}/outputs`, { key: net.apiKey });
    expect(before.status).toBe(200);
    expect(before.body.outputs).toEqual(done.outputs);
    // Another input, in a task no provider's price fits: it stays queued (live). Its submit draws a
    // canary replaying the finished task's input, which the only provider (it ran that task) may
    // not run: the canary stays queued too.
    const y = inputOf([4, 3, 2, 1]);
    const waiting = await api(net.url, "POST", "/tasks", { key: net.apiKey, json: { modelId, inputs: y, maxPrice: "1", verification: { mode: "none" } } });
    expect(waiting.status).toBe(202);
    const canary = await eventually(async () => (await prisma.task.findFirst({ where: { kind: "canary", status: "queued" } })) ?? undefined, 10_000, "the canary");
    const task = await prisma.task.findUniqueOrThrow({ where: { id: done.id } });
    const model = await prisma.model.findUniqueOrThrow({ where: { id: modelId } });
    expect(canary.inputSha256).toBe(task.inputSha256);
    for (const sha of [task.inputSha256, task.outputSha256!, canary.answerSha256!]) expect(await blobExists(app, sha)).toBe(true);

    const swept = await sweepStorage(app, nextWeek());
    expect(swept.purgedTasks).toBe(1); // the finished task; the queued ones are live

    // The canary's answer is the server's run on the same input: when the provider's output had the
    // very same bytes (both onnxruntime on CPU), that blob is the canary's answer and stays too.
    expect(await blobExists(app, task.outputSha256!)).toBe(task.outputSha256 === canary.answerSha256);
    expect(await blobExists(app, task.inputSha256)).toBe(true); // the live canary replays it
    expect(await blobExists(app, canary.answerSha256!)).toBe(true);
    expect(await blobExists(app, sha256Hex(storedInput(y)))).toBe(true);
    expect(await blobExists(app, model.sha256)).toBe(true);
    expect((await prisma.task.findUniqueOrThrow({ where: { id: waiting.body.id } })).dataPurgedAt).toBeNull();

    const view = await api(net.url, "GET", `/tasks/${done.id}`, { key: net.apiKey });
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({ id: done.id, status: "completed", cost: done.cost, receipt: done.receipt });
    expect(view.body.outputs).toBeUndefined();
    expect(typeof view.body.dataPurgedAt).toBe("string");
    expect(view.body.verification.executions[0].outputDigest).toBe(done.verification.executions[0].outputDigest);
    const gone = await api(net.url, "GET", `/tasks/${done.id}/outputs`, { key: net.apiKey });
    expect(gone.status).toBe(410);
    expect(gone.body.error.code).toBe("TASK_DATA_EXPIRED");

    // A provider of another operator joins and runs the canary, from the input its source no longer holds.
    await net.addProvider({ args: ["--price", "10"] });
    const finished = await eventually(async () => (await prisma.task.findFirst({ where: { id: canary.id, status: "completed" } })) ?? undefined, 30_000, "the canary to finish");
    expect((await prisma.assignment.findMany({ where: { taskId: finished.id } })).map((a) => a.verdict)).toEqual(["accepted"]);
    // A finished canary's data goes at the next sweep (not a retention period later), and with it
    // the last copy of the purged source's input and the answer.
    expect((await sweepStorage(app)).purgedTasks).toBe(1);
    expect((await prisma.task.findUniqueOrThrow({ where: { id: canary.id } })).dataPurgedAt).not.toBeNull();
    expect(await blobExists(app, task.inputSha256)).toBe(false);
    expect(await blobExists(app, canary.answerSha256!)).toBe(false);
    expect(await blobExists(app, task.outputSha256!)).toBe(false);
    expect(await blobExists(app, sha256Hex(storedInput(y)))).toBe(true);
    // A second sweep finds nothing more to do.
    expect(await sweepStorage(app, nextWeek())).toEqual({ purgedTasks: 0, blobs: 0, temp: 0 });
  }, 180_000);

  it("refuses uploads and submits past an account's quota with STORAGE_QUOTA, leaves other accounts alone, and frees quota when task data is deleted or expires", async () => {
    const mlp = buildMlp({ inputSize: 4, hidden: [8], outputSize: 3, seed: 8 });
    const inputs = [1, 2, 3, 4].map((i) => inputOf([i, -i, i / 2, 0]));
    const inputSize = storedInput(inputs[0]!).byteLength;
    const quota = mlp.bytes.byteLength + 2 * inputSize + Math.floor(inputSize / 2);
    net = await startTestNetwork({ providers: 1, providerArgs: () => ["--price", "10"], env: { ACCOUNT_STORAGE_QUOTA_BYTES: String(quota) } });
    const app = net.server.app;
    const modelId = await uploadModel(net.url, net.apiKey, mlp.bytes);
    expect((await me(net)).storage).toEqual({ usedBytes: String(mlp.bytes.byteLength), quotaBytes: String(quota) });

    const submit = (key: string, x: TensorMapJson) => api(net!.url, "POST", "/tasks", { key, json: { modelId, inputs: x, verification: { mode: "none" } } });
    const t1 = await runTask(net.url, net.apiKey, { modelId, inputs: inputs[0], verification: { mode: "none" } });
    const t2 = await runTask(net.url, net.apiKey, { modelId, inputs: inputs[1], verification: { mode: "none" } });
    expect([t1.status, t2.status]).toEqual(["completed", "completed"]);
    const full = mlp.bytes.byteLength + 2 * inputSize;
    expect((await me(net)).storage.usedBytes).toBe(String(full));

    const refused = await submit(net.apiKey, inputs[2]!);
    expect(refused.status).toBe(413);
    expect(refused.body.error.code).toBe("STORAGE_QUOTA");
    expect(refused.body.error.message).toContain(`${full} of ${quota} bytes used`);
    expect(await blobExists(app, sha256Hex(storedInput(inputs[2]!)))).toBe(false); // refused before anything was stored
    const otherModel = await api(net.url, "POST", "/models", { key: net.apiKey, bytes: buildMlp({ inputSize: 4, hidden: [8], outputSize: 3, seed: 9 }).bytes });
    expect(otherModel.status).toBe(413);
    expect(otherModel.body.error.code).toBe("STORAGE_QUOTA");
    // Uploading bytes that are already a model stores nothing: free.
    expect(await uploadModel(net.url, net.apiKey, mlp.bytes)).toBe(modelId);
    expect((await me(net)).storage.usedBytes).toBe(String(full));

    // Another account is charged only for what it stores itself.
    const other = (await api(net.url, "POST", "/accounts")).body.apiKey as string;
    expect((await api(net.url, "POST", "/faucet", { key: other, json: { amount: "1000000" } })).status).toBe(200);
    const t3 = await runTask(net.url, other, { modelId, inputs: inputs[2], verification: { mode: "none" } });
    expect(t3.status).toBe("completed");
    expect((await me(net, other)).storage.usedBytes).toBe(String(inputSize));
    expect((await me(net)).storage.usedBytes).toBe(String(full));

    // Deleting a finished task's data frees its input's bytes at once (and its blobs: nothing else uses them).
    const t1Row = await net.db.prisma.task.findUniqueOrThrow({ where: { id: t1.id } });
    const deleted = await api(net.url, "DELETE", `/tasks/${t1.id}/data`, { key: net.apiKey });
    expect(deleted.status).toBe(200);
    expect(typeof deleted.body.dataPurgedAt).toBe("string");
    expect((await me(net)).storage.usedBytes).toBe(String(full - inputSize));
    expect(await blobExists(app, t1Row.inputSha256)).toBe(false);
    expect(await blobExists(app, t1Row.outputSha256!)).toBe(false);
    expect((await api(net.url, "DELETE", `/tasks/${t1.id}/data`, { key: other })).status).toBe(404); // not theirs
    const t4 = await submit(net.apiKey, inputs[3]!);
    expect(t4.status).toBe(202);
    expect((await waitTask(net.url, net.apiKey, t4.body.id)).status).toBe("completed");

    // Retention frees the rest; the model stays charged to its owner.
    expect((await sweepStorage(app, nextWeek())).purgedTasks).toBe(3);
    expect((await me(net)).storage.usedBytes).toBe(String(mlp.bytes.byteLength));
    expect((await me(net, other)).storage.usedBytes).toBe("0");
    expect((await api(net.url, "GET", `/tasks/${t2.id}/outputs`, { key: net.apiKey })).body.error.code).toBe("TASK_DATA_EXPIRED");
  }, 180_000);

  it("sweeps orphans a crash left (stale temp files, unreferenced blobs past the grace period) and keeps young uploads and referenced blobs", async () => {
    net = await startTestNetwork();
    const app = net.server.app;
    const old = hoursAgo(2);
    const orphan = await app.blobs.put(randomBytes(64));
    await ageBlob(app, orphan, old);
    const inFlight = await app.blobs.put(randomBytes(64)); // written, its row not yet: within the grace period
    const modelId = await uploadModel(net.url, net.apiKey, buildMlp({ inputSize: 4, hidden: [8], outputSize: 3, seed: 10 }).bytes);
    const modelSha = (await net.db.prisma.model.findUniqueOrThrow({ where: { id: modelId } })).sha256;
    await ageBlob(app, modelSha, old);
    const staleTemp = path.join(app.config.blobDir, "tmp", `${orphan}.dead`);
    writeFileSync(staleTemp, "half a blob");
    utimesSync(staleTemp, old, old);
    const liveTemp = path.join(app.config.blobDir, "tmp", `${inFlight}.writing`);
    writeFileSync(liveTemp, "being written");

    expect(await collectGarbage(app)).toEqual({ blobs: 1, temp: 1 });
    expect(await blobExists(app, orphan)).toBe(false);
    expect(existsSync(staleTemp)).toBe(false);
    expect(await blobExists(app, inFlight)).toBe(true);
    expect(existsSync(liveTemp)).toBe(true);
    expect(await blobExists(app, modelSha)).toBe(true);
  });

  it("keeps EXPIRED_TASK_FEE of an expired task's escrow for the treasury, and the scheduled sweep purges its data after retention", async () => {
    net = await startTestNetwork({
      env: { EXPIRED_TASK_FEE: "7", TASK_BLOB_RETENTION_HOURS: "0", STORAGE_SWEEP_SECONDS: "0.2", BLOB_GC_GRACE_SECONDS: "0" },
    });
    const app = net.server.app;
    const mlp = buildMlp({ inputSize: 4, hidden: [8], outputSize: 3, seed: 11 });
    const modelId = await uploadModel(net.url, net.apiKey, mlp.bytes);
    const balanceBefore = (await getBalances(net.db, net.accountId)).balance;
    const treasuryBefore = await getLedgerBalance(net.db, SYSTEM_TREASURY);
    // No provider: the task can only expire.
    const sub = await api(net.url, "POST", "/tasks", {
      key: net.apiKey,
      json: { modelId, inputs: inputOf([4, 3, 2, 1]), maxPrice: "100", deadlineSeconds: 1, verification: { mode: "none" } },
    });
    expect(sub.status).toBe(202);
    const done = await waitTask(net.url, net.apiKey, sub.body.id, 30);
    expect(done.status).toBe("expired");
    expect(done.cost).toBe("7");
    const after = await getBalances(net.db, net.accountId);
    expect(after.balance).toBe(balanceBefore - 7n);
    expect(after.escrow).toBe(0n);
    expect(await getLedgerBalance(net.db, SYSTEM_TREASURY)).toBe(treasuryBefore + 7n);
    const kinds = (await net.db.prisma.ledgerEntry.findMany({ where: { taskId: sub.body.id } })).map((e) => e.kind);
    expect(new Set(kinds)).toEqual(new Set(["hold", "expired-fee", "refund"]));
    expect(await checkLedgerInvariants(net.db)).toEqual([]);

    const input = (await net.db.prisma.task.findUniqueOrThrow({ where: { id: sub.body.id } })).inputSha256;
    await eventually(
      async () => (await net!.db.prisma.task.findUniqueOrThrow({ where: { id: sub.body.id } })).dataPurgedAt !== null && !(await blobExists(app, input)),
      20_000,
      "the scheduled sweep to purge the expired task's input",
    );
    expect((await me(net)).storage.usedBytes).toBe(String(mlp.bytes.byteLength));
    expect(await net.db.prisma.sweepLease.findUnique({ where: { name: "storage" } })).toMatchObject({ holder: app.config.INSTANCE_ID });
  });

  it(
    testDbKind === "postgres"
      ? "two instances collecting garbage at once, while tasks reuse the orphans' bytes, never delete a referenced blob; one claims the sweep"
      : "two collectors at once, while tasks reuse the orphans' bytes, never delete a referenced blob; one claims the sweep",
    async () => {
      net = await startTestNetwork({ env: { BLOB_GC_GRACE_SECONDS: "0", INSTANCE_ID: "instance-a" } });
      // On PostgreSQL a second server instance shares the database and blob directory; PGlite is one process.
      let dbB: Database | undefined;
      let b: RunningServer | undefined;
      if (testDbKind === "postgres") {
        dbB = await createDatabase({ url: net.db.url! });
        b = await startServer(parseConfig({ PORT: "0", DATA_DIR: net.dataDir, LOG_LEVEL: "warn", STUN_FSYNC: "false", CANARY_RATE: "0", BLOB_GC_GRACE_SECONDS: "0", INSTANCE_ID: "instance-b" }), {
          db: dbB,
        });
      }
      try {
        const a = net.server.app;
        const other = b?.app ?? a;
        const otherUrl = b?.url ?? net.url;
        const claims = await Promise.all([claimSweep(a), claimSweep(b?.app ?? a)]);
        expect(claims.filter(Boolean)).toHaveLength(1);

        const modelId = await uploadModel(net.url, net.apiKey, buildMlp({ inputSize: 4, hidden: [8], outputSize: 3, seed: 12 }).bytes);
        const inputs = Array.from({ length: 24 }, (_, i) => inputOf([i, i + 1, i + 2, i + 3]));
        const shas: string[] = [];
        for (const x of inputs) shas.push(await a.blobs.put(storedInput(x))); // orphans: no row references them yet

        let stop = false;
        const collector = async (app: AppContext) => {
          let rounds = 0;
          while (!stop || rounds === 0) {
            await collectGarbage(app);
            rounds++;
          }
          return rounds;
        };
        const collectors = [collector(a), collector(other)];
        // Half of the orphans' bytes are submitted as task inputs (no provider: the tasks stay queued, live).
        const submitted: string[] = [];
        for (let i = 0; i < inputs.length; i += 2) {
          const res = await api(i % 4 === 0 ? net.url : otherUrl, "POST", "/tasks", { key: net.apiKey, json: { modelId, inputs: inputs[i], verification: { mode: "none" } } });
          expect(res.status).toBe(202);
          submitted.push(res.body.id);
        }
        stop = true;
        for (const rounds of await Promise.all(collectors)) expect(rounds).toBeGreaterThan(0);
        await collectGarbage(a);

        for (let i = 0; i < inputs.length; i++) {
          if (i % 2 === 0) {
            expect(await blobExists(a, shas[i]!), `input ${i} of a live task`).toBe(true);
            expect(sha256Hex(await a.blobs.get(shas[i]!))).toBe(shas[i]);
          } else {
            expect(await blobExists(a, shas[i]!), `orphan ${i}`).toBe(false);
          }
        }
        const rows = await net.db.prisma.task.findMany({ where: { id: { in: submitted } }, select: { inputSha256: true } });
        expect(new Set(rows.map((r) => r.inputSha256))).toEqual(new Set(shas.filter((_, i) => i % 2 === 0)));
      } finally {
        await b?.close();
        await dbB?.close();
      }
    },
  );
});
