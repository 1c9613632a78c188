/**
 * Security issue #12, performed against the real server: tiny models that made the upload check
 * burn server CPU and memory on the event loop. Each upload is refused with a stable 400 code,
 * /health keeps answering during it (counted, not timed), and the server still takes a normal
 * model afterwards. (The server-side limits themselves: test/onnx/worker-pool.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildConstantBombModel, buildLargeInputModel, buildMlp } from "@stun/testkit";
import { sha256Hex } from "../../src/blobs/blob-store";
import { api } from "../support/api";
import { startTestNetwork, type TestNetwork } from "../support/network";

let net: TestNetwork;
beforeAll(async () => {
  // A short job limit keeps the constant bomb's run (tens of seconds on one thread) short here.
  net = await startTestNetwork({ env: { ONNX_JOB_TIMEOUT_MS: "5000" } });
});
afterAll(() => net?.close());

const POLLERS = 4;

/** Uploads `bytes` while POLLERS clients call GET /health back to back; returns the upload's answer and every /health status. */
async function uploadWhilePolling(bytes: Uint8Array): Promise<{ status: number; body: any; health: number[] }> {
  let polling = true;
  const health: number[] = [];
  const poll = async () => {
    while (polling) {
      const res = await fetch(`${net.url}/api/v1/health`);
      await res.arrayBuffer();
      health.push(res.status);
    }
  };
  const pollers = Array.from({ length: POLLERS }, poll);
  const upload = await api(net.url, "POST", "/models", { key: net.apiKey, bytes });
  polling = false;
  await Promise.all(pollers);
  return { ...upload, health };
}

describe("upload abuse (issue #12)", () => {
  it("refuses a 126-byte model with a fixed [5000,5000] input before running anything, and /health answers throughout", async () => {
    const bytes = buildLargeInputModel(5000);
    expect(bytes.byteLength).toBeLessThan(200);
    const r = await uploadWhilePolling(bytes);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("MODEL_TOO_LARGE_INPUT");
    expect(r.body.error.message).toMatch(/25000000 elements \(limit 16777216\)/);
    expect(r.health.length).toBeGreaterThanOrEqual(POLLERS);
    expect(r.health.every((s) => s === 200)).toBe(true);
  });

  it("refuses a model that builds an 8000×8000 constant (MODEL_TOO_COSTLY), and /health answers throughout", async () => {
    const bytes = buildConstantBombModel(8000);
    expect(bytes.byteLength).toBeLessThan(300);
    const r = await uploadWhilePolling(bytes);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("MODEL_TOO_COSTLY");
    // The run went on in a worker for seconds; the API answered many times meanwhile.
    expect(r.health.length).toBeGreaterThan(POLLERS * 10);
    expect(r.health.every((s) => s === 200)).toBe(true);
  });

  it("stores neither bomb, and still takes and calibrates a normal model", async () => {
    for (const bomb of [buildLargeInputModel(5000), buildConstantBombModel(8000)]) {
      expect(await net.server.app.db.prisma.model.findUnique({ where: { sha256: sha256Hex(bomb) } })).toBeNull();
      expect(await net.server.app.blobs.has(sha256Hex(bomb))).toBe(false);
    }
    const up = await api(net.url, "POST", "/models", { key: net.apiKey, bytes: buildMlp({ inputSize: 8, hidden: [8], outputSize: 2 }).bytes });
    expect(up.status).toBe(201);
    const row = await net.server.app.db.prisma.model.findUnique({ where: { id: up.body.id } });
    expect(row?.calibration).toMatchObject({ status: "calibrated" });
    expect(net.server.app.onnx.workerCount.live).toBeLessThanOrEqual(net.server.app.config.ONNX_WORKERS);
  });
});
