/**
 * Where `npm start` keeps the local API keys it creates (and any other secret file of a local
 * install): a private directory outside every working directory and DATA_DIR. Issue #12 showed why:
 * a model's relative path (ONNX external data) resolved against the server's working directory read
 * `./.stun/local-keys.json` — and the keys worked. Models with external data are now refused; this
 * keeps the keys out of reach of any relative path even so.
 *
 * The directory: `$STUN_SECRETS_DIR`, else `$XDG_STATE_HOME/stun`, else `~/.local/state/stun`
 * (absolute paths only: a relative XDG_STATE_HOME is ignored, as the XDG spec says). It is made
 * 0700 and its files 0600, written atomically.
 */
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export function secretsDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.STUN_SECRETS_DIR) return path.resolve(env.STUN_SECRETS_DIR);
  const xdg = env.XDG_STATE_HOME;
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, "stun");
  return path.join(env.HOME || os.homedir(), ".local", "state", "stun");
}

const isInside = (child: string, parent: string): boolean => {
  const rel = path.relative(parent, child);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
};

/** Throws when `dir` lies inside one of `forbidden` (the working directory, DATA_DIR): say which and how to move it. */
export function assertOutside(dir: string, forbidden: Record<string, string>): void {
  for (const [what, place] of Object.entries(forbidden)) {
    if (isInside(dir, path.resolve(place))) {
      throw new Error(`the secrets directory ${dir} is inside the ${what} (${place}); set STUN_SECRETS_DIR to a private directory elsewhere`);
    }
  }
}

/** The file that holds `npm start`'s local API keys for one DATA_DIR (one database, one set of accounts). */
export function localKeysFile(dataDir: string, env: NodeJS.ProcessEnv = process.env): string {
  const tag = createHash("sha256").update(path.resolve(dataDir)).digest("hex").slice(0, 16);
  return path.join(secretsDir(env), `local-keys-${tag}.json`);
}

/** Creates (or tightens) the file's directory to 0700, then writes the file as 0600 via a rename. */
export function writeSecretFile(file: string, text: string): void {
  const dir = path.dirname(file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    writeFileSync(tmp, text, { mode: 0o600, flag: "wx" });
    chmodSync(tmp, 0o600); // the umask cannot widen it, but never rely on that
    renameSync(tmp, file);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** The file's text, or undefined when it does not exist. Tightens a file written loosely by hand to 0600. */
export function readSecretFile(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  chmodSync(file, 0o600);
  return readFileSync(file, "utf8");
}

/**
 * Moves a secret left by an older version at `legacy` (e.g. `DATA_DIR/local-keys.json`, under the
 * working directory) to `file`, unless `file` already exists; the legacy copy is deleted either way.
 */
export function moveLegacySecret(legacy: string, file: string): void {
  if (!existsSync(legacy)) return;
  if (!existsSync(file)) writeSecretFile(file, readFileSync(legacy, "utf8"));
  rmSync(legacy, { force: true });
}
