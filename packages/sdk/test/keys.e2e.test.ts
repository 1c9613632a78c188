/**
 * `StunClient` key methods and `stun keys …` against the real server (PGlite): a key is shown once,
 * listed without its secret, refused the moment it is revoked or rotated, and a narrow key cannot
 * mint a broader one.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestNetwork } from "../../../apps/server/test/support/network";
import { StunClient } from "../src/index";
import { runStun, tempDir } from "./support/cli";

type Network = Awaited<ReturnType<typeof startTestNetwork>>;

let net: Network;
let admin: StunClient;
let dir: { path: string; remove(): Promise<void> };

beforeAll(async () => {
  net = await startTestNetwork();
  admin = new StunClient({ baseUrl: net.url, apiKey: net.apiKey });
  dir = await tempDir();
}, 180_000);

afterAll(async () => {
  await net?.close();
  await dir?.remove();
});

describe("StunClient keys", () => {
  it("createKey, listKeys, rotateKey, revokeKey; a requester key cannot mint a provider key", async () => {
    const made = await admin.createKey({ name: "sdk", scopes: ["requester"], expiresInSeconds: 3600 });
    expect(made.apiKey).toMatch(/^stun_/);
    expect(made.key).toMatchObject({ name: "sdk", scopes: ["requester"], status: "active", kind: "api" });
    const child = admin.withApiKey(made.apiKey);
    expect((await child.account()).accountId).toBe(net.accountId);
    await expect(child.createKey({ name: "wider", scopes: ["provider"] })).rejects.toMatchObject({ status: 403, code: "KEY_SCOPE" });
    await expect(child.stake(1n)).rejects.toMatchObject({ status: 403, code: "KEY_SCOPE" });

    const listed = await admin.listKeys();
    expect(listed.map((k) => k.id)).toContain(made.key.id);
    expect(JSON.stringify(listed)).not.toContain(made.apiKey);

    const rotated = await admin.rotateKey(made.key.id);
    expect(rotated.key).toMatchObject({ name: "sdk", scopes: ["requester"] });
    await expect(child.account()).rejects.toMatchObject({ status: 401, code: "KEY_REVOKED" });
    const next = admin.withApiKey(rotated.apiKey);
    expect((await next.account()).accountId).toBe(net.accountId);

    const revoked = await admin.revokeKey(rotated.key.id);
    expect(revoked.status).toBe("revoked");
    await expect(next.account()).rejects.toMatchObject({ status: 401, code: "KEY_REVOKED" });
  });
});

describe("stun keys", () => {
  const stun = (key: string, ...argv: string[]) => runStun(argv, { cwd: dir.path, env: { STUN_SERVER: net.url, STUN_API_KEY: key } });

  it("create (shown once, --save), list (no secrets), rotate, revoke; usage errors exit 2", async () => {
    const created = await stun(net.apiKey, "--json", "keys", "create", "cli box", "--scope", "requester,read", "--expires-in", "600");
    expect(created.code, created.stderr).toBe(0);
    const made = JSON.parse(created.stdout);
    expect(made.key).toMatchObject({ name: "cli box", scopes: ["requester", "read"] });

    const table = await stun(net.apiKey, "keys", "list");
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/ID\s+NAME\s+PREFIX\s+SCOPES\s+STATUS/);
    expect(table.stdout).toContain("cli box");
    expect(table.stdout).toContain(made.key.prefix);
    expect(table.stdout).not.toContain(made.apiKey);

    const rotated = await stun(made.apiKey, "keys", "rotate", made.key.id, "--save");
    expect(rotated.code, rotated.stderr).toBe(0);
    const saved = JSON.parse(await readFile(join(dir.path, ".config", "stun", "config.json"), "utf8"));
    expect(saved.apiKey).toMatch(/^stun_/);
    expect(saved.apiKey).not.toBe(made.apiKey);
    expect(rotated.stdout).toContain(saved.apiKey);
    const refused = await stun(made.apiKey, "account", "show");
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("KEY_REVOKED");

    const newId = (await new StunClient({ baseUrl: net.url, apiKey: saved.apiKey }).listKeys()).find((k) => k.status === "active" && k.name === "cli box")!.id;
    const revoked = await stun(net.apiKey, "keys", "revoke", newId);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toMatch(/status\s+revoked/);

    const noScope = await stun(net.apiKey, "keys", "create", "x");
    expect(noScope.code).toBe(2);
    expect(noScope.stderr).toContain("--scope is required");
    expect((await stun(net.apiKey, "keys", "create", "x", "--scope", "root")).code).toBe(2);
  });
});
