import { readFileSync, statSync } from "node:fs";

/**
 * A key file's JSON (settlement keys, hot wallets, settlers), refused when group or others can read
 * it. Throws a one-line reason: `notJson` when the text does not parse.
 */
export function readSecretJson(file: string, notJson = "not JSON"): unknown {
  let text: string;
  try {
    if ((statSync(file).mode & 0o077) !== 0) throw new Error("readable by group or others (chmod 600 it)");
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new Error((e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(notJson);
  }
}
