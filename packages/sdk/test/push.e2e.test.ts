/**
 * Waiting on the push channel against the real server and a real provider: the wait hears the end
 * on `/requester` and never long-polls; behind a proxy that passes HTTP but not WebSockets (and
 * with push turned off) it long-polls instead.
 */
import { createServer, request, type Server } from "node:http";
import { afterAll, beforeAll, expect, it } from "vitest";
import { buildMlp } from "@stun/testkit";
import { startTestNetwork } from "../../../apps/server/test/support/network";
import { StunClient, type WaitPath } from "../src/index";

type Network = Awaited<ReturnType<typeof startTestNetwork>>;

let net: Network;
let modelId: string;
let proxy: Server;
let proxyUrl: string;

/** An HTTP proxy to the server that refuses WebSocket upgrades (as some proxies do). */
async function startHttpOnlyProxy(target: string): Promise<Server> {
  const to = new URL(target);
  const server = createServer((req, res) => {
    const up = request({ host: to.hostname, port: to.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  server.on("upgrade", (_req, socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

/** A client whose requests are recorded (the real fetch underneath). */
function recordingClient(baseUrl: string, apiKey: string, push = true) {
  const urls: string[] = [];
  const client = new StunClient({
    baseUrl,
    apiKey,
    push,
    fetch: (input, init) => {
      urls.push(String(input));
      return fetch(input, init);
    },
  });
  return { client, urls, longPolls: () => urls.filter((u) => new URL(u).searchParams.has("wait")) };
}

const submit = (client: StunClient) => client.submitTask({ modelId, inputs: { x: { dims: [1, 4], data: new Float32Array([0.1, 0.2, 0.3, 0.4]) } }, verification: { mode: "none" } });

beforeAll(async () => {
  net = await startTestNetwork({ providers: 1 });
  const stun = new StunClient({ baseUrl: net.url, apiKey: net.apiKey });
  modelId = (await stun.uploadModel(buildMlp({ inputSize: 4, hidden: [5], outputSize: 2, seed: 21 }).bytes, { name: "push-sdk" })).id;
  proxy = await startHttpOnlyProxy(net.url);
  proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
}, 180_000);

afterAll(async () => {
  await new Promise((resolve) => proxy?.close(resolve));
  await net?.close();
});

it("waits for a task on the push channel, without long-polling", async () => {
  const { client, longPolls } = recordingClient(net.url, net.apiKey);
  const task = await submit(client);
  const paths: WaitPath[] = [];
  const info = await task.wait({ onPath: (p) => paths.push(p) });
  expect(info.status).toBe("completed");
  expect(info.outputs?.y).toBeDefined();
  expect(paths).toEqual(["push"]);
  expect(longPolls()).toEqual([]);
});

it("another account's task is TASK_NOT_FOUND on the push channel too", async () => {
  const task = await submit(new StunClient({ baseUrl: net.url, apiKey: net.apiKey }));
  const other = await StunClient.createAccount(net.url);
  const paths: WaitPath[] = [];
  await expect(new StunClient({ baseUrl: net.url, apiKey: other.apiKey }).waitForTask(task.id, { onPath: (p) => paths.push(p) })).rejects.toMatchObject({ status: 404, code: "TASK_NOT_FOUND" });
  expect(paths).toEqual([]);
});

it("long-polls when the push channel cannot connect (a proxy without WebSockets)", async () => {
  const { client, longPolls } = recordingClient(proxyUrl, net.apiKey);
  const task = await submit(client);
  const paths: WaitPath[] = [];
  const info = await task.wait({ onPath: (p) => paths.push(p) });
  expect(info.status).toBe("completed");
  expect(paths).toEqual(["long-poll"]);
  expect(longPolls().length).toBeGreaterThan(0);
});

it("long-polls when push is turned off", async () => {
  const { client, longPolls } = recordingClient(net.url, net.apiKey, false);
  const paths: WaitPath[] = [];
  const info = await (await submit(client)).wait({ onPath: (p) => paths.push(p) });
  expect(info.status).toBe("completed");
  expect(paths).toEqual(["long-poll"]);
  expect(longPolls().length).toBeGreaterThan(0);
});
