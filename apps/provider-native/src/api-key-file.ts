/** Reading the provider's API key from a file (`--api-key-file`), refusing one others can read. */
import { readFileSync, statSync } from "node:fs";

/**
 * The key in `file` (its first line, trimmed). Throws with what to do when the file cannot be read,
 * is empty, or is readable or writable by the group or others (on POSIX; `chmod 600` fixes it).
 */
export function readApiKeyFile(file: string): string {
  let mode: number;
  let text: string;
  try {
    mode = statSync(file).mode;
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`cannot read the API key file ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  if (process.platform !== "win32" && (mode & 0o077) !== 0) {
    const octal = (mode & 0o777).toString(8).padStart(3, "0");
    throw new Error(`the API key file ${file} is accessible to other users (mode ${octal}); run: chmod 600 ${file}`);
  }
  const key = text.split(/\r?\n/, 1)[0]!.trim();
  if (!key) throw new Error(`the API key file ${file} is empty`);
  return key;
}
