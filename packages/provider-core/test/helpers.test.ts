// The small shared pieces: shared work with cancellation, the same-origin key rule, tensors.
import { describe, expect, it } from "vitest";
import { SharedWork } from "../src/abort";
import type { ProviderError } from "../src/errors";
import { serverUrl } from "../src/server-url";
import { type OrtTensorLike, ortToWire, wireToOrt } from "../src/tensors";

describe("SharedWork", () => {
  it("does the work once for concurrent callers and stops it only when every caller has given up", async () => {
    const work = new SharedWork<string>();
    let starts = 0;
    let workSignal: AbortSignal | undefined;
    let finish!: (v: string) => void;
    const start = (signal: AbortSignal) => {
      starts++;
      workSignal = signal;
      return new Promise<string>((resolve, reject) => {
        finish = resolve;
        signal.addEventListener("abort", () => reject(signal.reason));
      });
    };
    const a = new AbortController();
    const b = new AbortController();
    const pa = work.run("k", a.signal, start).catch((e: Error) => e.message);
    const pb = work.run("k", b.signal, start);
    expect(starts).toBe(1);
    a.abort(new Error("a gave up"));
    expect(await pa).toBe("a gave up"); // a stops waiting at once
    expect(workSignal!.aborted).toBe(false); // b still waits
    finish("done");
    expect(await pb).toBe("done");

    const c = new AbortController();
    const pc = work.run("k", c.signal, start).catch(() => "c gave up");
    expect(starts).toBe(2); // the first work finished: a fresh one
    c.abort(new Error("c gave up"));
    expect(await pc).toBe("c gave up");
    expect(workSignal!.aborted).toBe(true); // nobody waits any more
    expect(work.size).toBe(0);
    const pd = work.run("k", undefined, start);
    expect(starts).toBe(3); // abandoned work is never joined
    finish("again");
    expect(await pd).toBe("again");
  });
});

describe("serverUrl: the API key goes to the server's own origin only", () => {
  it("resolves paths against the server and refuses every other origin", () => {
    expect(serverUrl("http://127.0.0.1:4000", "/api/v1/models/m/file", "MODEL_FETCH_FAILED")).toBe("http://127.0.0.1:4000/api/v1/models/m/file");
    expect(serverUrl("http://127.0.0.1:4000/", "api/v1/x", "MODEL_FETCH_FAILED")).toBe("http://127.0.0.1:4000/api/v1/x");
    expect(serverUrl("https://stun.example", "https://stun.example/zk/c.zkey", "PROOF_FAILED")).toBe("https://stun.example/zk/c.zkey");
    for (const url of ["https://evil.example/x", "//evil.example/x", "http://stun.example/x", "https://stun.example:8443/x"]) {
      let err: ProviderError | undefined;
      try {
        serverUrl("https://stun.example", url, "PROOF_FAILED");
      } catch (e) {
        err = e as ProviderError;
      }
      expect(err?.code, url).toBe("PROOF_FAILED");
    }
  });
});

describe("tensors", () => {
  // onnxruntime's Tensor, as far as the conversion sees it.
  class Tensor implements OrtTensorLike {
    constructor(
      readonly type: string,
      readonly data: unknown,
      readonly dims: readonly number[],
    ) {}
  }
  const ort = { Tensor };

  it("takes aligned bytes without a copy, copies unaligned ones, and gives outputs back as byte views", () => {
    const x = Float32Array.from([1.5, -2, 3.25, 4]);
    const aligned = new Uint8Array(x.buffer);
    const t = wireToOrt(ort, "x", { dtype: "float32", dims: [2, 2], data: aligned });
    expect((t.data as Float32Array).buffer).toBe(x.buffer);
    const backing = new Uint8Array(17);
    backing.set(aligned, 1);
    const u = wireToOrt(ort, "x", { dtype: "float32", dims: [4], data: backing.subarray(1) });
    expect(Array.from(u.data as Float32Array)).toEqual(Array.from(x));
    const back = ortToWire("y", t);
    expect(back).toMatchObject({ dtype: "float32", dims: [2, 2] });
    expect((back.data as Uint8Array).buffer).toBe(x.buffer);
    expect(ortToWire("s", wireToOrt(ort, "s", { dtype: "string", dims: [2], data: ["a", "b"] })).data).toEqual(["a", "b"]);
  });

  it("malformed inputs are INPUT_INVALID; an output dtype Stun does not carry is RUN_FAILED", () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as ProviderError).code;
      }
      return "no error";
    };
    expect(code(() => wireToOrt(ort, "x", { dtype: "float32", dims: [2, 2], data: new Uint8Array(15) }))).toBe("INPUT_INVALID");
    expect(code(() => wireToOrt(ort, "b", { dtype: "bool", dims: [2], data: Uint8Array.from([0, 2]) }))).toBe("INPUT_INVALID");
    expect(code(() => wireToOrt(ort, "x", { dtype: "float32", dims: [-1], data: new Uint8Array(0) }))).toBe("INPUT_INVALID");
    expect(code(() => wireToOrt(ort, "s", { dtype: "string", dims: [2], data: ["a"] }))).toBe("INPUT_INVALID");
    expect(code(() => ortToWire("y", new Tensor("complex64", new Float32Array(2), [1])))).toBe("RUN_FAILED");
  });
});
