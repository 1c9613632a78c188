/**
 * npm start's JSON-RPC forwarder (chain/rpc-forwarder.ts) in front of a real anvil, whose ten
 * accounts are unlocked: only the web app's origins (and wallet extensions) get CORS, any other
 * Origin is refused, and no caller can sign with anvil's accounts or use its admin methods — while
 * a wallet that signs locally still reads and sends raw transactions through it.
 */
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWalletClient, http, parseEther } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { type Anvil, startAnvil } from "@stun/contracts/anvil";
import { type RpcForwarder, refusedMethod, startRpcForwarder, webAppOrigins } from "../../src/chain";

const WEB_PORT = 4321;

describe("npm start's RPC forwarder", () => {
  let anvil: Anvil;
  let fwd: RpcForwarder;
  const rpc = (body: unknown, headers: Record<string, string> = {}, method = "POST") =>
    fetch(fwd.url, { method, headers: { "content-type": "application/json", ...headers }, ...(method === "POST" ? { body: JSON.stringify(body) } : {}) });
  const call = (method: string, params: unknown[] = [], headers: Record<string, string> = {}) => rpc({ jsonrpc: "2.0", id: 7, method, params }, headers);

  beforeAll(async () => {
    anvil = await startAnvil({ accounts: 2 });
    fwd = await startRpcForwarder({ target: anvil.rpcUrl, port: 0, allowedOrigins: webAppOrigins(WEB_PORT) });
  });
  afterAll(async () => {
    await fwd?.close();
    await anvil?.stop();
  });

  it("answers the web app's origins with CORS for that origin, and wallet extensions", async () => {
    for (const origin of [`http://localhost:${WEB_PORT}`, `http://127.0.0.1:${WEB_PORT}`, "chrome-extension://nkbihfbeogaeaoehlefnkodbefgpgknn"]) {
      const pre = await rpc(undefined, { origin, "access-control-request-method": "POST" }, "OPTIONS");
      expect(pre.status, origin).toBe(204);
      expect(pre.headers.get("access-control-allow-origin")).toBe(origin);
      const r = await call("eth_chainId", [], { origin });
      expect(r.status).toBe(200);
      expect(r.headers.get("access-control-allow-origin")).toBe(origin);
      expect(await r.json()).toEqual({ jsonrpc: "2.0", id: 7, result: "0x7a69" });
    }
  });

  it("refuses any other Origin (403, no CORS), including the web app's host on another port, and a foreign Host", async () => {
    for (const origin of ["https://evil.example", `http://localhost:${WEB_PORT + 1}`, "null", `http://127.0.0.1.evil.example:${WEB_PORT}`]) {
      const pre = await rpc(undefined, { origin, "access-control-request-method": "POST" }, "OPTIONS");
      expect(pre.status, origin).toBe(403);
      expect(pre.headers.get("access-control-allow-origin")).toBeNull();
      const r = await call("eth_blockNumber", [], { origin });
      expect(r.status).toBe(403);
      expect(r.headers.get("access-control-allow-origin")).toBeNull();
      expect(((await r.json()) as { error: unknown }).error).toMatchObject({ code: -32600, message: expect.stringContaining(`Origin ${origin} may not use this RPC`) });
    }
    // DNS rebinding: a page at evil.example resolved to 127.0.0.1 sends its own Host.
    // (node:http, since fetch sets Host itself.)
    const status = (host: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request(fwd.url, { method: "POST", headers: { host, "content-type": "application/json" } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on("error", reject);
        req.end(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_blockNumber", params: [] }));
      });
    expect(await status("evil.example:8545")).toBe(403);
    expect(await status(new URL(fwd.url).host)).toBe(200);
  });

  it("refuses methods that use anvil's unlocked accounts or administer the node, for every caller", async () => {
    const [unlocked, other] = anvil.accounts.map((a) => a.address) as [`0x${string}`, `0x${string}`];
    const before = await anvil.publicClient.getBalance({ address: other });
    const web = { origin: `http://localhost:${WEB_PORT}` };
    const refused: Array<[string, unknown[]]> = [
      ["eth_sendTransaction", [{ from: unlocked, to: other, value: "0xde0b6b3a7640000" }]],
      ["eth_sign", [unlocked, "0x1234"]],
      ["eth_signTransaction", [{ from: unlocked, to: other }]],
      ["personal_sign", ["0x1234", unlocked]],
      ["eth_signTypedData_v4", [unlocked, "{}"]],
      ["eth_accounts", []],
      ["anvil_setBalance", [unlocked, "0xffff"]],
      ["anvil_impersonateAccount", [other]],
      ["hardhat_setCode", [other, "0x00"]],
      ["evm_mine", []],
      ["evm_increaseTime", [3600]],
      ["debug_traceTransaction", ["0x00"]],
    ];
    for (const [method, params] of refused) {
      for (const headers of [web, {}]) {
        const r = await call(method, params, headers);
        expect(r.status, method).toBe(403);
        expect(((await r.json()) as { error: unknown }).error).toMatchObject({ code: -32601, message: expect.stringContaining(method) });
      }
    }
    // A batch that hides one refused call among reads is refused whole.
    const batch = await rpc(
      [
        { jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] },
        { jsonrpc: "2.0", id: 2, method: "eth_sendTransaction", params: [{ from: unlocked, to: other, value: "0x1" }] },
      ],
      web,
    );
    expect(batch.status).toBe(403);
    expect(await anvil.publicClient.getBalance({ address: other })).toBe(before);
    expect(refusedMethod("eth_getBalance")).toBeUndefined();
    expect(refusedMethod("eth_sendRawTransaction")).toBeUndefined();
  });

  it("a wallet that signs locally reads and sends raw transactions through it (what the wallet page and browser wallets use)", async () => {
    const own = privateKeyToAccount(generatePrivateKey());
    await anvil.testClient.setBalance({ address: own.address, value: parseEther("1") });
    const wallet = createWalletClient({ account: own, chain: anvil.chain, transport: http(fwd.url, { fetchOptions: { headers: { origin: `http://127.0.0.1:${WEB_PORT}` } } }) });
    const to = privateKeyToAccount(generatePrivateKey()).address;
    const hash = await wallet.sendTransaction({ to, value: 12_345n });
    expect((await anvil.publicClient.waitForTransactionReceipt({ hash })).status).toBe("success");
    expect(await anvil.publicClient.getBalance({ address: to })).toBe(12_345n);
  });
});
