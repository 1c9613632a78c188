import { afterEach, expect, it } from "vitest";
import { HealthSchema } from "@stun/shared";
import { describeDb } from "../support/database";
import { eventually, startTestNetwork, type TestNetwork } from "../support/network";
import { api } from "../support/api";

const onlineNow = async (net: TestNetwork): Promise<number> => {
  const res = await api(net.url, "GET", "/health");
  expect(res.status).toBe(200);
  return HealthSchema.parse(res.body).providers.online;
};

/**
 * /health says how many providers are online, not only that the server answers: a client (npm
 * start's own banner among them) can wait for work to be runnable. One instance counts the
 * providers registered with it (the multi-instance count is in test/e2e/multi-instance.test.ts).
 */
describeDb("GET /health", () => {
  let net: TestNetwork | undefined;
  afterEach(async () => {
    await net?.close();
    net = undefined;
  });

  it("counts providers as they register and as they leave", async () => {
    net = await startTestNetwork();
    expect((await api(net.url, "GET", "/health")).body).toEqual({ status: "ok", providers: { online: 0 } });
    const first = await net.addProvider();
    // Registered means counted: the provider's "registered" line comes after the server's answer.
    expect(await onlineNow(net)).toBe(1);
    await net.addProvider();
    expect(await onlineNow(net)).toBe(2);
    await first.kill();
    await eventually(async () => (await onlineNow(net!)) === 1, 10_000, "the killed provider to leave the count");
    // A provider that drains and stops (SIGTERM) leaves too.
    await net.providers[1]!.stop();
    await eventually(async () => (await onlineNow(net!)) === 0, 30_000, "the stopped provider to leave the count");
  });

  it("is described in the OpenAPI document by the same schema", async () => {
    net = await startTestNetwork();
    const doc = (await api(net.url, "GET", "/openapi.json")).body;
    const schema = doc.paths["/api/v1/health"].get.responses["200"].content["application/json"].schema;
    expect(schema.properties.providers.properties.online.type).toBe("integer");
    expect(schema.required).toEqual(["status", "providers"]);
  });
});
