/**
 * The SDK and the CLI against the real marketplace: the real server (PGlite) and real native
 * providers running onnxruntime, through the server team's test-network harness. Nothing here is
 * mocked; outputs are checked against the models' pure-JS references.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeNpy, float16ToFloat32, parseNpy, type Dtype } from "@stun/shared";
import { buildIdentityModel, buildMlp } from "@stun/testkit";
import { startTestNetwork } from "../../../apps/server/test/support/network";
import { StunApiError, StunClient, toRawTensor, toTensor, type NestedArray } from "../src/index";
import { runStun, tempDir } from "./support/cli";

type Network = Awaited<ReturnType<typeof startTestNetwork>>;

let net: Network;
let stun: StunClient;
let dir: { path: string; remove(): Promise<void> };

beforeAll(async () => {
  net = await startTestNetwork({ providers: 2 });
  stun = new StunClient({ baseUrl: net.url, apiKey: net.apiKey });
  dir = await tempDir();
}, 180_000);

afterAll(async () => {
  await net?.close();
  await dir?.remove();
});

const mlp = buildMlp({ inputSize: 4, hidden: [8], outputSize: 3, seed: 7 });
// Models are stored by content: the CLI test uploads different bytes, so it gets its own name.
const cliMlp = buildMlp({ inputSize: 4, hidden: [6], outputSize: 3, seed: 11 });

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i]! - expected[i]!), `element ${i}`).toBeLessThanOrEqual(tol * (1 + Math.abs(expected[i]!)));
}

describe("StunClient", () => {
  it("health, network views and a new account", async () => {
    const providers = await stun.providers();
    expect(providers.length).toBeGreaterThanOrEqual(2);
    expect(await stun.health()).toEqual({ status: "ok", providers: { online: providers.length } });
    expect(typeof providers[0]!.price).toBe("bigint");
    const stats = await stun.stats();
    expect(stats.providersOnline).toBeGreaterThanOrEqual(2);
    expect(typeof stats.volume).toBe("bigint");

    const created = await StunClient.createAccount(net.url);
    const fresh = new StunClient({ baseUrl: `${net.url}/api/v1/`, apiKey: created.apiKey });
    expect(await fresh.account()).toEqual({ accountId: created.accountId, balance: 0n, escrow: 0n, stake: 0n });
    const after = await fresh.faucet(5000n);
    expect(after.balance).toBe(5000n);
    expect(await fresh.stake(2000n)).toMatchObject({ balance: 3000n, stake: 2000n });
    expect(await fresh.unstake("500")).toMatchObject({ balance: 3500n, stake: 1500n });
    await expect(fresh.unstake(1501n)).rejects.toMatchObject({ status: 402, code: "INSUFFICIENT_FUNDS" });
    const ledger = await fresh.ledger({ limit: 10 });
    expect(ledger.some((e) => e.amount === 5000n)).toBe(true);
  });

  it("uploads an MLP, runs it with redundant verification and matches the reference", async () => {
    const model = await stun.uploadModel(mlp.bytes, { name: "sdk-mlp" });
    expect(model).toMatchObject({ name: "sdk-mlp", sizeBytes: mlp.bytes.length });
    expect(model.inputs).toEqual([{ name: "x", dtype: "float32", shape: ["N", 4] }]);
    expect((await stun.getModel(model.id)).sha256).toBe(model.sha256);
    expect((await stun.listModels()).map((m) => m.id)).toContain(model.id);
    // Verification mode zk needs a model the zkML compiler can prove: an int32 graph is not one.
    const ints = await stun.uploadModel(buildIdentityModel("int32").bytes);
    expect(await stun.getModelZk(ints.id)).toMatchObject({ modelId: ints.id, status: "unsupported" });
    // Nor can a createZkTask escrow pay a task on it: its terms are refused with the same reason.
    await expect(stun.zkEscrowTerms(ints.id, { x: { dims: [2, 3], data: new Int32Array(6) } })).rejects.toMatchObject({ status: 400, code: "MODEL_NOT_PROVABLE" });
    const quote = await stun.quote(model.id, { mode: "redundant", replicas: 3 });
    expect(quote).toMatchObject({ modelId: model.id, mode: "redundant", units: "1", executions: 4 });
    expect(BigInt(quote.total)).toBe(BigInt(quote.pricePerExecution) * 4n);
    await expect(stun.quote("mdl_missing")).rejects.toMatchObject({ code: "MODEL_NOT_FOUND" });

    const before = await stun.account();
    const x = new Float32Array([0.5, -1, 2, 0.25, 1, 1, -0.5, 3]);
    const task = await stun.submitTask({ modelId: model.id, inputs: { x: { dims: [2, 4], data: x } }, verification: { mode: "redundant" } });
    expect(task.id).toBeTruthy();
    const done = await task.wait({ timeoutMs: 60_000 });
    expect(done.status).toBe("completed");
    expect(done.verification.mode).toBe("redundant");
    expect(done.verification.outcome).toBe("accepted");
    expect(typeof done.cost).toBe("bigint");

    const y = await task.getOutput("y");
    expect(y.dtype).toBe("float32");
    expect(y.dims).toEqual([2, 3]);
    expectClose(y.data as Float32Array, mlp.forward(x, 2));

    await expect(task.getOutput("nope")).rejects.toMatchObject({ code: "OUTPUT_NOT_FOUND" });
    expect((await stun.getTask(task.id)).status).toBe("completed");
    expect((await stun.listTasks({ limit: 50 })).map((t) => t.id)).toContain(task.id);
    const afterAccount = await stun.account();
    expect(afterAccount.balance).toBeLessThan(before.balance);
  }, 120_000);

  const identityCases: [Dtype, NestedArray, (t: ReturnType<typeof toTensor>) => unknown][] = [
    [
      "float32",
      [
        [1.5, -2, 3],
        [4, 5, 6],
      ],
      (t) => Array.from(t.data as Float32Array),
    ],
    [
      "float16",
      [
        [1.5, -2, 3],
        [4, 5, 65504],
      ],
      (t) => Array.from(t.data as Uint16Array, float16ToFloat32),
    ],
    [
      "int64",
      [
        [1n, -2n, 3n],
        [2n ** 62n, 5n, 6n],
      ],
      (t) => t.data,
    ],
    [
      "uint8",
      [
        [0, 1, 2],
        [253, 254, 255],
      ],
      (t) => t.data,
    ],
    [
      "bool",
      [
        [true, false, true],
        [false, false, true],
      ],
      (t) => t.data,
    ],
    [
      "string",
      [
        ["a", "b", "c"],
        ["d", "é", ""],
      ],
      (t) => t.data,
    ],
  ];
  for (const [dtype, data, view] of identityCases) {
    it(`identity model round-trips ${dtype} from a nested JS array`, async () => {
      const model = await stun.uploadModel(buildIdentityModel(dtype, [2, 3]).bytes, { name: `identity-${dtype}` });
      const task = await stun.submitTask({ modelId: model.id, inputs: { x: { dtype, data } }, verification: { mode: "none" } });
      const y = await task.getOutput("y", { timeoutMs: 60_000 });
      const expected = toTensor(toRawTensor({ dtype, data }));
      expect(y.dtype).toBe(dtype);
      expect(y.dims).toEqual([2, 3]);
      expect(view(y)).toEqual(view(expected));
    });
  }

  it("runTask submits and waits in one request: the handle holds the finished task; a task still open goes on waiting", async () => {
    const model = await stun.uploadModel(buildIdentityModel("float32", [3]).bytes, { name: "identity-run" });
    const x = new Float32Array([1, 2, 3]);
    const handle = await stun.runTask({ modelId: model.id, inputs: { x }, verification: { mode: "none" } });
    expect(handle.info?.status).toBe("completed");
    expect(Array.from((await handle.getOutput("y")).data as Float32Array)).toEqual([1, 2, 3]);
    // wait 0: the server answers with the task as it is; the handle's wait() long-polls on.
    const open = await stun.runTask({ modelId: model.id, inputs: { x }, verification: { mode: "none" }, wait: 0 });
    expect((await open.wait({ timeoutMs: 60_000 })).status).toBe("completed");
    await expect(stun.runTask({ modelId: model.id, inputs: { z: x } })).rejects.toMatchObject({ status: 400, code: "INPUT_UNKNOWN" });
  });

  it("server errors arrive as StunApiError with the server's code and status", async () => {
    await expect(stun.getTask("no_such_task")).rejects.toMatchObject({ status: 404, code: "TASK_NOT_FOUND" });
    await expect(stun.uploadModel(new Uint8Array([1, 2, 3]))).rejects.toMatchObject({ status: 400, code: "MODEL_INVALID" });
    const wrongKey = new StunClient({ baseUrl: net.url, apiKey: "not-a-key" });
    const err = await wrongKey.account().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StunApiError);
    expect(err).toMatchObject({ status: 401, code: "UNAUTHORIZED" });

    const model = await stun.uploadModel(mlp.bytes, { name: "errs" });
    await expect(stun.submitTask({ modelId: model.id, inputs: { z: new Float32Array(4) } })).rejects.toMatchObject({ status: 400, code: "INPUT_UNKNOWN" });
    await expect(stun.submitTask({ modelId: model.id, inputs: { x: new Int32Array(4) } })).rejects.toMatchObject({ code: "INPUT_DTYPE_MISMATCH" });
    const poor = new StunClient({ baseUrl: net.url, apiKey: (await StunClient.createAccount(net.url)).apiKey });
    await expect(poor.submitTask({ modelId: model.id, inputs: { x: { dims: [1, 4], data: [1, 2, 3, 4] } } })).rejects.toMatchObject({
      status: 402,
      code: "INSUFFICIENT_FUNDS",
    });
  });
});

describe("stun CLI", () => {
  it("account create → faucet → models upload → tasks submit --wait writes .npy outputs → tasks get", async () => {
    const env = { STUN_CONFIG: join(dir.path, "config.json") };
    const run = (...argv: string[]) => runStun(argv, { cwd: dir.path, env });
    const ok = async (...argv: string[]) => {
      const r = await run(...argv);
      expect(r.stderr, argv.join(" ")).not.toMatch(/^error /m);
      expect(r.code, `${argv.join(" ")}\n${r.stderr}`).toBe(0);
      return r;
    };

    const created = JSON.parse((await ok("account", "create", "--server", net.url, "--json")).stdout) as { accountId: string; apiKey: string };
    const config = JSON.parse(await readFile(env.STUN_CONFIG, "utf8")) as Record<string, string>;
    expect(config).toEqual({ server: net.url, accountId: created.accountId, apiKey: created.apiKey });

    // From here on the server and key come from the config file.
    expect((await ok("faucet", "1000000000")).stdout).toContain("balance    1000000000");
    expect(JSON.parse((await ok("account", "show", "--json")).stdout)).toEqual({ accountId: created.accountId, balance: "1000000000", escrow: "0", stake: "0" });
    expect((await ok("stake", "1000")).stdout).toMatch(/balance\s+999999000\n[^]*stake\s+1000/);
    expect((await ok("unstake", "1000")).stdout).toMatch(/stake\s+0/);

    await writeFile(join(dir.path, "mlp.onnx"), cliMlp.bytes);
    const model = JSON.parse((await ok("models", "upload", "mlp.onnx", "--json")).stdout) as { id: string; name: string };
    expect(model.name).toBe("mlp");
    expect((await ok("models", "list")).stdout).toContain(model.id);

    const x = new Float32Array([1, 2, 3, 4, -1, -2, -3, -4, 0.5, 0, 0, 0.5]);
    await writeFile(join(dir.path, "x.npy"), encodeNpy(toRawTensor({ dims: [3, 4], data: x })));
    const submitted = await ok("tasks", "submit", "--model", model.id, "--input", "x=x.npy", "--verification", "redundant", "--wait", "--output-dir", "out");
    expect(submitted.stdout).toMatch(/status\s+completed/);
    const y = toTensor(parseNpy(new Uint8Array(await readFile(join(dir.path, "out", "y.npy")))));
    expect(y.dims).toEqual([3, 3]);
    expectClose(y.data as Float32Array, cliMlp.forward(x, 3));

    // Inline JSON without a dtype takes the model's (float32); --json prints the task with its outputs.
    const inline = await ok("tasks", "submit", "--model", model.id, "--input", "x=@[[1,2,3,4]]", "--wait", "--json");
    const task = JSON.parse(inline.stdout) as { id: string; status: string; cost: string; outputs: { y: { dims: number[]; data: number[] } } };
    expect(task.status).toBe("completed");
    expect(task.outputs.y.dims).toEqual([1, 3]);
    expectClose(task.outputs.y.data, cliMlp.forward(new Float32Array([1, 2, 3, 4]), 1));

    const got = await ok("tasks", "get", task.id, "--wait", "5", "--output-dir", "out2");
    expect(got.stdout).toContain(task.id);
    expect(toTensor(parseNpy(new Uint8Array(await readFile(join(dir.path, "out2", "y.npy"))))).dims).toEqual([1, 3]);
    expect((await ok("tasks", "list")).stdout).toContain(task.id);
    expect((await ok("providers")).stdout).toMatch(/native/);
    expect((await ok("stats", "--json")).stdout).toContain("providersOnline");

    // Server errors come out as `error CODE: message`, exit 1.
    const missing = await run("tasks", "get", "no_such_task");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error TASK_NOT_FOUND: /);
  }, 120_000);
});
