import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { configPath, loadConfig, resolveSettings, saveConfig } from "../src/cli/config";
import { closedServerUrl, runStun, tempDir } from "./support/cli";

let dir: { path: string; remove(): Promise<void> };
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  await dir.remove();
});

describe("config file location", () => {
  it("$STUN_CONFIG wins (relative to the working directory)", () => {
    expect(configPath({ STUN_CONFIG: "/etc/stun.json", HOME: "/home/u" }, "/w")).toBe("/etc/stun.json");
    expect(configPath({ STUN_CONFIG: "conf/stun.json" }, "/w")).toBe("/w/conf/stun.json");
  });
  it("then $XDG_CONFIG_HOME/stun/config.json, then ~/.config/stun/config.json", () => {
    expect(configPath({ XDG_CONFIG_HOME: "/x", HOME: "/home/u" }, "/w")).toBe("/x/stun/config.json");
    expect(configPath({ XDG_CONFIG_HOME: "relative", HOME: "/home/u" }, "/w")).toBe("/home/u/.config/stun/config.json");
    expect(configPath({ HOME: "/home/u" }, "/w")).toBe("/home/u/.config/stun/config.json");
  });
});

describe("reading and writing", () => {
  it("a missing file is an empty config", async () => {
    expect(await loadConfig(join(dir.path, "none.json"))).toEqual({});
  });

  it("a malformed file is CONFIG_INVALID", async () => {
    const path = join(dir.path, "c.json");
    for (const text of ["{not json", "[1,2]", '"str"', '{"apiKey": 5}', '{"server": null}']) {
      await writeFile(path, text);
      await expect(loadConfig(path), text).rejects.toMatchObject({ code: "CONFIG_INVALID" });
    }
  });

  it("saves owner-only (0600 in a 0700 directory), merging and keeping unknown keys", async () => {
    const path = join(dir.path, "deep", "stun", "config.json");
    await saveConfig(path, { server: "http://a", apiKey: "k1", accountId: "acc1" });
    const text = await readFile(path, "utf8");
    expect(JSON.parse(text)).toEqual({ server: "http://a", apiKey: "k1", accountId: "acc1" });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir.path, "deep", "stun"))).mode & 0o777).toBe(0o700);

    await writeFile(path, JSON.stringify({ ...JSON.parse(text), theme: "dark" }));
    await saveConfig(path, { apiKey: "k2" });
    expect(await loadConfig(path)).toEqual({ server: "http://a", apiKey: "k2", accountId: "acc1", theme: "dark" });
  });
});

describe("resolving server and API key", () => {
  const resolve = (flags: { server?: string; key?: string }, env: Record<string, string>, config: Record<string, string>) =>
    resolveSettings({ flagServer: flags.server, flagApiKey: flags.key, env, config, defaultServer: "http://localhost:4000" });

  it("flag, then environment, then config, then the default", () => {
    expect(resolve({}, {}, {})).toEqual({ server: "http://localhost:4000", apiKey: undefined, apiKeySource: undefined });
    expect(resolve({}, {}, { server: "http://c", apiKey: "kc" })).toEqual({ server: "http://c", apiKey: "kc", apiKeySource: "config" });
    expect(resolve({}, { STUN_SERVER: "http://e", STUN_API_KEY: "ke" }, { server: "http://c", apiKey: "kc" })).toEqual({
      server: "http://e",
      apiKey: "ke",
      apiKeySource: "env",
    });
    expect(resolve({ server: "http://f/", key: "kf" }, { STUN_SERVER: "http://e", STUN_API_KEY: "ke" }, {})).toEqual({
      server: "http://f",
      apiKey: "kf",
      apiKeySource: "flag",
    });
  });

  it("the config's key is only sent to the config's server", () => {
    expect(resolve({ server: "http://other" }, {}, { server: "http://c", apiKey: "kc" }).apiKey).toBeUndefined();
    expect(resolve({ server: "http://c/api/v1/" }, {}, { server: "http://c", apiKey: "kc" }).apiKey).toBe("kc");
    // A config without a server goes with whichever server is used.
    expect(resolve({ server: "http://any" }, {}, { apiKey: "kc" }).apiKey).toBe("kc");
  });
});

describe("the CLI and the config file", () => {
  it("uses the config file's server and key (then fails to connect: NETWORK_ERROR, exit 1)", async () => {
    const server = await closedServerUrl();
    await saveConfig(join(dir.path, ".config", "stun", "config.json"), { server, apiKey: "k" });
    const r = await runStun(["account", "show"], { cwd: dir.path });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^error NETWORK_ERROR: GET ${server}/api/v1/accounts/me failed`));
  });

  it("says when the config's key is for another server (NO_API_KEY, exit 1)", async () => {
    const path = join(dir.path, "stun.json");
    await saveConfig(path, { server: "http://elsewhere:4000", apiKey: "k" });
    const r = await runStun(["account", "show", "--server", "http://127.0.0.1:9"], { cwd: dir.path, env: { STUN_CONFIG: path } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error NO_API_KEY: no API key for http://127.0.0.1:9 (the config file has a key for http://elsewhere:4000)");
  });

  it("reports a malformed config file (CONFIG_INVALID, exit 1)", async () => {
    const path = join(dir.path, "stun.json");
    await writeFile(path, "{oops");
    const r = await runStun(["stats"], { cwd: dir.path, env: { STUN_CONFIG: path } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error CONFIG_INVALID: config .*stun\.json is not valid JSON/);
  });

  it("account create does not touch the config when the server cannot be reached", async () => {
    const path = join(dir.path, "cfg", "stun.json");
    await mkdir(join(dir.path, "cfg"));
    const r = await runStun(["account", "create", "--server", await closedServerUrl()], { cwd: dir.path, env: { STUN_CONFIG: path } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error NETWORK_ERROR: POST /);
    await expect(stat(path)).rejects.toMatchObject({ code: "ENOENT" });
  });
});
