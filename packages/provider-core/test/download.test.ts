// downloadVerified against a real HTTP server, and the bug it fixes: a ProviderSession whose
// connection drops aborts the model download in flight instead of waiting out the fetch timeout.
import { createHash } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RegisterSchema } from "@stun/shared";
import { downloadVerified } from "../src/download";
import type { ProviderError } from "../src/errors";
import { ProviderSession, type SessionEvent } from "../src/session";
import { openProviderSocket } from "../src/socket";
import { MARKET_KEY, type Market, startMarket, waitFor } from "./support/market";

let market: Market;
beforeEach(async () => {
  market = await startMarket();
});
afterEach(async () => {
  await market.close();
});

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const bytes = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 7) & 255);
const codeOf = (e: unknown) => (e as ProviderError).code;

describe("downloadVerified", () => {
  it("returns the bytes when they hash right; a wrong hash, too many bytes or an HTTP error are ProviderErrors", async () => {
    market.files.set("/m", bytes);
    const d = { server: market.url, apiKey: "k", url: "/m", sha256: sha(bytes) };
    expect(await downloadVerified({ ...d, sizeBytes: bytes.byteLength })).toEqual(bytes);
    expect(codeOf(await downloadVerified({ ...d, sha256: "0".repeat(64) }).catch((e) => e))).toBe("MODEL_HASH_MISMATCH");
    expect(codeOf(await downloadVerified({ ...d, sizeBytes: 10 }).catch((e) => e))).toBe("MODEL_HASH_MISMATCH");
    expect(codeOf(await downloadVerified({ ...d, url: "/missing" }).catch((e) => e))).toBe("MODEL_FETCH_FAILED");
    expect(codeOf(await downloadVerified({ ...d, url: "/missing", code: "PROOF_FAILED" }).catch((e) => e))).toBe("PROOF_FAILED");
  });

  it("sends the API key only to the server's origin: another origin is refused before any request", async () => {
    let requests = 0;
    const fetch = (async () => {
      requests++;
      return new Response(bytes as Uint8Array<ArrayBuffer>);
    }) as typeof globalThis.fetch;
    const d = { server: market.url, apiKey: "k", sha256: sha(bytes), fetch };
    for (const url of ["http://evil.example/m", "//evil.example/m", `${market.url.replace("127.0.0.1", "localhost")}/m`]) {
      const err = (await downloadVerified({ ...d, url }).catch((e) => e)) as ProviderError;
      expect(err.code, url).toBe("MODEL_FETCH_FAILED");
      expect(err.message).toMatch(/refusing to send the API key/);
    }
    expect(requests).toBe(0);
    expect(await downloadVerified({ ...d, url: `${market.url}/m` })).toEqual(bytes); // absolute on the same origin is fine
  });

  it("stops a stalled download when its signal aborts", async () => {
    market.files.set("/stall", "stall");
    const ac = new AbortController();
    const pending = downloadVerified({ server: market.url, apiKey: "k", url: "/stall", sha256: sha(bytes), signal: ac.signal }).catch((e) => e);
    await new Promise((r) => setTimeout(r, 100));
    ac.abort(new Error("given up"));
    const err = (await pending) as ProviderError;
    expect(err.code).toBe("MODEL_FETCH_FAILED");
    expect(err.message).toMatch(/given up/);
    await waitFor(() => market.abandoned.includes("/stall")); // the server saw the request closed
  });

  it("a dropped connection aborts a session's model download in flight, and the slot is free at once", async () => {
    market.files.set("/stall", "stall");
    const events: SessionEvent[] = [];
    const session = new ProviderSession({
      socket: openProviderSocket(market.url, MARKET_KEY, { reconnectDelayMs: 50 }),
      registration: RegisterSchema.parse({ name: "p1", kind: "native", backend: "cpu", price: "5", slots: 1, specs: { cores: 2, memoryMb: 0 } }),
      // The executor the agents have: download the model (here: nothing more).
      executor: {
        execute: async (a, signal) => {
          await downloadVerified({ server: market.url, apiKey: MARKET_KEY, url: a.model.url, sha256: a.model.sha256, signal });
          return { outputs: {}, timings: { fetchMs: 0, loadMs: 0, runMs: 0 } };
        },
      },
      onEvent: (e) => events.push(e),
      heartbeatMs: 100,
      ackTimeoutMs: 500,
    });
    try {
      await session.start();
      const model = { id: "mdl_s", sha256: sha(bytes), sizeBytes: bytes.byteLength, url: "/stall" };
      expect(await market.assign({ assignmentId: "asg_dl", model })).toEqual({ ok: true });
      await waitFor(() => events.some((e) => e.type === "assigned"));
      await new Promise((r) => setTimeout(r, 100)); // the request is out and stalled
      expect(market.abandoned).toEqual([]);
      market.socket().conn.close(); // the server goes away (a restart)
      await waitFor(() => market.abandoned.includes("/stall"));
      const done = await waitFor(() => events.find((e) => e.type === "finished"));
      expect(done).toMatchObject({ outcome: "lost", code: "MODEL_FETCH_FAILED" });
      expect(session.active).toBe(0);
      await waitFor(() => market.registrations.length === 2);
      market.files.set("/ok", bytes);
      expect(await market.assign({ assignmentId: "asg_next", model: { ...model, url: "/ok" } })).toEqual({ ok: true });
      expect((await waitFor(() => market.results[0])).assignmentId).toBe("asg_next");
      expect(market.errors).toEqual([]);
    } finally {
      await session.stop(0);
    }
  });
});
