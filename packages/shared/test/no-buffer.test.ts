import { afterEach, describe, expect, it, vi } from "vitest";

/** The shared package must run in browsers: no Buffer, no node:* modules. */
describe("without Node's Buffer", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.resetModules();
  });

  it("encodes and decodes tensors through the portable base64 path", async () => {
    const nodeEncoding = Buffer.from([1, 2, 3, 250]).toString("base64");
    vi.stubGlobal("Buffer", undefined);
    vi.resetModules();
    const shared = await import("../src/index");
    const json = shared.tensorToJson({ dtype: "uint8", dims: [4], data: new Uint8Array([1, 2, 3, 250]) });
    expect(json.data).toBe(nodeEncoding);
    expect([...(shared.tensorFromJson(json, "x").data as Uint8Array)]).toEqual([1, 2, 3, 250]);
  });
});
