/**
 * The agent runs from a working directory of its own: fresh, empty and private (0700). onnxruntime
 * resolves a model's relative paths (ONNX external data) against the working directory; the model
 * check refuses such models (issue #12), and this makes sure that even a model that slipped past it
 * finds nothing to read — not the operator's home, project or key files.
 */
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export interface PrivateWorkDir {
  dir: string;
  /** Removes the directory (and whatever something put there) — call at exit. */
  remove(): void;
}

/** Creates the directory under the system's temp dir and changes the process's working directory to it. */
export function enterPrivateWorkDir(): PrivateWorkDir {
  const dir = mkdtempSync(path.join(os.tmpdir(), "stun-provider-cwd-"));
  chmodSync(dir, 0o700); // mkdtemp already makes it 0700; said here so it never depends on that
  process.chdir(dir);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
