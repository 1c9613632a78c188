/**
 * A flood of invalid submits, in a process of its own (bench/throughput.ts `--flood-rate`): an
 * attacker is another machine, and in the bench's own process its requests would share the valid
 * clients' event loop — the bench would measure its load generator's queue, not the server.
 *
 *   node --import tsx bench/support/flood-client.ts URL MODEL_ID RATE
 *
 * Opens an account, floods `RATE` invalid submits per second (four kinds, in turn: a wrong dtype, an
 * unknown model, a truncated JSON body, wrong dims) until a line arrives on stdin, then prints
 * `FLOOD {"sent": n, "statuses": {status: count}}` and exits.
 */
import http from "node:http";
import { createInterface } from "node:readline";

const [url, modelId, rateArg] = process.argv.slice(2);
const rate = Number(rateArg);
if (!url || !modelId || !(rate > 0)) throw new Error("usage: flood-client.ts URL MODEL_ID RATE");

const account = (await fetch(`${url}/api/v1/accounts`, { method: "POST" }).then((r) => r.json())) as { apiKey: string };
const h = { authorization: `Bearer ${account.apiKey}`, "content-type": "application/json" };
const x = Buffer.alloc(256).toString("base64");
const bad = [
  JSON.stringify({ modelId, inputs: { x: { dtype: "int64", dims: [1, 64], data: x } } }),
  JSON.stringify({ modelId: "mdl_nope", inputs: {} }),
  '{"modelId": ',
  JSON.stringify({ modelId, inputs: { x: { dtype: "float32", dims: [1, 65], data: x } } }),
];
let stopped = false;
createInterface({ input: process.stdin }).once("line", () => (stopped = true));
const statuses = new Map<number, number>();
const count = (status: number) => statuses.set(status, (statuses.get(status) ?? 0) + 1);
// node:http on kept-alive sockets, not fetch: fetch costs ~2 ms of CPU per request, taken from the
// 2 cores the server and the valid clients share.
const target = new URL(`${url}/api/v1/tasks`);
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
const post = (body: string) =>
  new Promise<void>((resolve) => {
    const req = http.request(target, { method: "POST", agent, headers: { ...h, "content-length": Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on("end", () => {
        count(res.statusCode ?? 0);
        resolve();
      });
    });
    req.on("error", () => {
      count(0);
      resolve();
    });
    req.end(body);
  });
process.stdout.write("READY\n");
let sent = 0;
const t0 = performance.now();
const inflight: Promise<void>[] = [];
while (!stopped) {
  const wait = t0 + (sent * 1000) / rate - performance.now();
  if (wait > 1) await new Promise((r) => setTimeout(r, wait));
  inflight.push(post(bad[sent++ % bad.length]!));
}
await Promise.all(inflight);
agent.destroy();
process.stdout.write(`FLOOD ${JSON.stringify({ sent, statuses: Object.fromEntries(statuses) })}\n`);
process.exit(0);
