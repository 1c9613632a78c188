// The model cache against a real local HTTP server standing in for the blob endpoint.
import { mkdtemp, readdir, rm, stat, utimes, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildIdentityModel, buildMlp } from "@stun/testkit";
import { ProviderError } from "@stun/provider-core";
import { ModelCache, type ModelCacheOptions } from "../src/model-cache";
import { type ModelServer, startModelServer } from "./support/model-server";

let server: ModelServer;
let dir: string;
const opened: ModelCache[] = [];

beforeEach(async () => {
  server = await startModelServer("k-123");
  dir = await mkdtemp(path.join(os.tmpdir(), "stun-cache-"));
});

afterEach(async () => {
  for (const c of opened.splice(0)) await c.close();
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

async function openCache(extra: Partial<ModelCacheOptions> = {}): Promise<ModelCache> {
  const c = await ModelCache.open({ server: server.url, apiKey: server.apiKey, dir, maxBytes: 64 * 1024 * 1024, ...extra });
  opened.push(c);
  return c;
}

/** A model of roughly `kb` KiB (an MLP whose weights take the space). */
function modelOfKb(kb: number, seed: number): Uint8Array {
  return buildMlp({ inputSize: 16, hidden: [Math.round((kb * 1024) / 4 / 17)], outputSize: 1, seed }).bytes;
}

const onnxFiles = async () => (await readdir(dir)).filter((f) => f.endsWith(".onnx")).sort();

describe("ModelCache", () => {
  it("downloads with the API key as a Bearer token and stores <sha256>.onnx", async () => {
    const cache = await openCache();
    const m = server.add("m1", buildIdentityModel("float32", [1]).bytes);
    const lease = await cache.acquire(m);
    lease.release();
    expect(server.requests).toEqual([{ path: "/api/v1/models/m1/file", authorization: "Bearer k-123" }]);
    expect(await onnxFiles()).toEqual([`${m.sha256}.onnx`]);
    expect((await stat(path.join(dir, `${m.sha256}.onnx`))).size).toBe(m.sizeBytes);
  });

  it("rejects bytes whose sha256 differs and does not cache them", async () => {
    const cache = await openCache();
    const m = server.add("bad", buildIdentityModel("int8", [1]).bytes, { body: buildIdentityModel("uint8", [1]).bytes });
    const err = await cache.acquire(m).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).code).toBe("MODEL_HASH_MISMATCH");
    expect(await readdir(dir)).toEqual([]);
    // Not remembered as a failure either: a fixed server is asked again.
    await cache.acquire(m).catch(() => undefined);
    expect(server.countFor("bad")).toBe(2);
  });

  it("stops reading when the server sends more than sizeBytes", async () => {
    const cache = await openCache();
    const bytes = buildIdentityModel("int8", [1]).bytes;
    const m = server.add("long", bytes, { body: new Uint8Array(bytes.byteLength * 10) });
    const err = await cache.getBytes(m).catch((e: unknown) => e);
    expect((err as ProviderError).code).toBe("MODEL_HASH_MISMATCH");
  });

  it("HTTP errors are MODEL_FETCH_FAILED; a wrong API key is one too", async () => {
    const cache = await openCache();
    const missing = { sha256: "a".repeat(64), url: "/api/v1/models/none/file" };
    expect(((await cache.acquire(missing).catch((e: unknown) => e)) as ProviderError).code).toBe("MODEL_FETCH_FAILED");
    const wrongKey = await openCache({ apiKey: "nope" });
    const m = server.add("m", buildIdentityModel("int8", [1]).bytes);
    const err = (await wrongKey.acquire(m).catch((e: unknown) => e)) as ProviderError;
    expect(err.code).toBe("MODEL_FETCH_FAILED");
    expect(err.message).toMatch(/HTTP 401/);
  });

  it("refuses to send the API key to another origin", async () => {
    const cache = await openCache();
    const err = (await cache.getBytes({ sha256: "b".repeat(64), url: "http://example.invalid/x.onnx" }).catch((e: unknown) => e)) as ProviderError;
    expect(err.code).toBe("MODEL_FETCH_FAILED");
    expect(server.requests).toEqual([]);
  });

  it("concurrent requests for one model share one download and one session", async () => {
    const cache = await openCache();
    const m = server.add("slow", buildMlp({ inputSize: 32, hidden: [64], outputSize: 4 }).bytes, { delayMs: 150 });
    const leases = await Promise.all(Array.from({ length: 6 }, () => cache.acquire(m)));
    expect(server.countFor("slow")).toBe(1);
    expect(new Set(leases.map((l) => l.session)).size).toBe(1);
    // One download served all six (the server's delay keeps them overlapping); no wall-clock checks.
    for (const l of leases) l.release();
    // Concurrent downloads of the bytes alone are shared too.
    const other = server.add("slow2", buildIdentityModel("int32", [2]).bytes, { delayMs: 100 });
    await Promise.all([cache.getBytes(other), cache.getBytes(other), cache.getBytes(other)]);
    expect(server.countFor("slow2")).toBe(1);
  });

  it("evicts least recently used files to stay under the size cap", async () => {
    const cache = await openCache({ maxBytes: 250 * 1024 });
    const a = server.add("a", modelOfKb(100, 1));
    const b = server.add("b", modelOfKb(100, 2));
    const c = server.add("c", modelOfKb(100, 3));
    await cache.getBytes(a);
    await cache.getBytes(b);
    await cache.getBytes(a); // a is now more recently used than b
    await cache.getBytes(c); // 300 KiB > 250 KiB: b goes
    expect(await onnxFiles()).toEqual([`${a.sha256}.onnx`, `${c.sha256}.onnx`].sort());
    expect(cache.stats().diskBytes).toBeLessThanOrEqual(250 * 1024);
    expect(server.countFor("a")).toBe(1); // the second get came from disk
    await cache.getBytes(b);
    expect(server.countFor("b")).toBe(2);
    expect(await onnxFiles()).not.toContain(`${a.sha256}.onnx`); // a was least recently used this time
  });

  it("a model bigger than the whole cache is used but not kept", async () => {
    const cache = await openCache({ maxBytes: 10 * 1024 });
    const big = server.add("big", modelOfKb(40, 4));
    const lease = await cache.acquire(big);
    lease.release();
    expect(await onnxFiles()).toEqual([]);
  });

  it("survives a restart: files are found again, oldest-used evicted first, corrupt ones re-downloaded, temp files removed", async () => {
    const a = server.add("a", modelOfKb(50, 1));
    const b = server.add("b", modelOfKb(50, 2));
    const first = await openCache();
    await first.getBytes(a);
    await first.getBytes(b);
    await first.close();
    // b's file was used long ago; a stray temp file from a crash; then corrupt a.
    await utimes(path.join(dir, `${b.sha256}.onnx`), new Date(1000), new Date(1000));
    await writeFile(path.join(dir, `${a.sha256}.onnx.1.abcd.tmp`), "partial");
    const second = await openCache({ maxBytes: 80 * 1024 });
    expect(await onnxFiles()).toEqual([`${a.sha256}.onnx`]); // over the new cap: b (older) evicted
    expect((await readdir(dir)).some((f) => f.endsWith(".tmp"))).toBe(false);
    await second.getBytes(a);
    expect(server.countFor("a")).toBe(1);
    await writeFile(path.join(dir, `${a.sha256}.onnx`), "corrupted");
    const got = await second.getBytes(a);
    expect(got.bytes.byteLength).toBe(a.sizeBytes);
    expect(server.countFor("a")).toBe(2);
  });

  it("keeps at most maxSessions sessions open, never closing one in use", async () => {
    const cache = await openCache({ maxSessions: 2 });
    const models = [1, 2, 3].map((i) => server.add(`s${i}`, buildIdentityModel("float32", [i]).bytes));
    expect(cache.tryAcquire(models[0]!)).toBeUndefined(); // not loaded yet
    const held = await cache.acquire(models[0]!);
    const fast = cache.tryAcquire(models[0]!)!;
    expect(fast.session).toBe(held.session);
    expect([fast.fetchMs, fast.loadMs]).toEqual([0, 0]);
    fast.release();
    fast.release(); // idempotent
    for (const m of models.slice(1)) (await cache.acquire(m)).release();
    expect(cache.stats().sessions).toBe(2);
    // models[0] is in use: models[1] (idle, least recent) went instead.
    const again = await cache.acquire(models[0]!);
    expect(again.session).toBe(held.session);
    expect(again.loadMs).toBe(0);
    again.release();
    held.release();
    const reload = await cache.acquire(models[1]!);
    expect(reload.loadMs).toBeGreaterThan(0);
    reload.release();
  });
});
