import { readFileSync, statSync } from "node:fs";

/**
 * Reads a secret file that must be private to its owner: refuses one that others can read or
 * write (mode & 0o077), so a password is never taken from a file the whole machine can see.
 * Returns its contents without the trailing newline.
 */
export function readPrivateFile(file: string): string {
  const st = statSync(file);
  if (!st.isFile()) throw new Error(`${file} is not a file`);
  if (process.platform !== "win32" && (st.mode & 0o077) !== 0) {
    throw new Error(`${file} is readable or writable by others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
  }
  return readFileSync(file, "utf8").replace(/\r?\n$/, "");
}
