import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { assertOutside, localKeysFile, moveLegacySecret, readSecretFile, secretsDir, writeSecretFile } from "../src/local-secrets";

// Issue #12: npm start's API keys sat in ./.stun/local-keys.json, readable through a model's relative path.
describe("local secrets", () => {
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), "stun-secrets-test-"));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));
  const mode = (p: string) => statSync(p).mode & 0o777;

  it("lives in $STUN_SECRETS_DIR, else $XDG_STATE_HOME/stun, else ~/.local/state/stun; one keys file per data directory", () => {
    expect(secretsDir({ STUN_SECRETS_DIR: "/s", XDG_STATE_HOME: "/x", HOME: "/h" })).toBe("/s");
    expect(secretsDir({ XDG_STATE_HOME: "/x", HOME: "/h" })).toBe("/x/stun");
    expect(secretsDir({ XDG_STATE_HOME: "relative", HOME: "/h" })).toBe("/h/.local/state/stun");
    const env = { STUN_SECRETS_DIR: "/s" };
    expect(path.dirname(localKeysFile("/data/a", env))).toBe("/s");
    expect(localKeysFile("/data/a", env)).not.toBe(localKeysFile("/data/b", env));
    expect(localKeysFile("/data/a", env)).toBe(localKeysFile("/data/a/../a", env));
  });

  it("refuses a secrets directory inside the working directory or DATA_DIR", () => {
    expect(() => assertOutside("/w/.stun/secrets", { "working directory": "/w" })).toThrow(/inside the working directory \(\/w\); set STUN_SECRETS_DIR/);
    expect(() => assertOutside("/w", { "working directory": "/w" })).toThrow(/inside the working directory/);
    expect(() => assertOutside("/home/u/.local/state/stun", { "working directory": "/srv/stun", "data directory (DATA_DIR)": "/srv/stun/.stun" })).not.toThrow();
    expect(() => assertOutside("/srv/stun-secrets", { "working directory": "/srv/stun" })).not.toThrow(); // a sibling, not inside
  });

  it("writes files 0600 in a 0700 directory, tightening ones that were looser", () => {
    const dir = path.join(tmp, "state", "stun");
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const file = path.join(dir, "k.json");
    writeFileSync(file, "old", { mode: 0o644 });
    expect(readSecretFile(file)).toBe("old");
    expect(mode(file)).toBe(0o600);
    writeSecretFile(file, "new");
    expect([mode(dir), mode(file), readFileSync(file, "utf8")]).toEqual([0o700, 0o600, "new"]);
    expect(readSecretFile(path.join(dir, "missing.json"))).toBeUndefined();
  });

  it("moves a legacy keys file out of DATA_DIR, keeping a newer one that already exists", () => {
    const legacy = path.join(tmp, "data", "local-keys.json");
    mkdirSync(path.dirname(legacy));
    const file = path.join(tmp, "secrets", "local-keys-x.json");
    writeFileSync(legacy, "legacy", { mode: 0o644 });
    moveLegacySecret(legacy, file);
    expect([readFileSync(file, "utf8"), mode(file)]).toEqual(["legacy", 0o600]);
    expect(() => statSync(legacy)).toThrow();
    writeFileSync(legacy, "older");
    moveLegacySecret(legacy, file);
    expect(readFileSync(file, "utf8")).toBe("legacy");
    expect(() => statSync(legacy)).toThrow();
  });
});
