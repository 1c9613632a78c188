import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll } from "vitest";
import { startTestNetwork, type TestNetwork } from "./network";

/** A folder shaped like a web build (Next.js's static export): each file's path and contents. */
export function writeWebExport(files: Record<string, string | Buffer>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "stun-web-"));
  for (const [rel, body] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), body);
  }
  return dir;
}

/** For a describe block: a test network serving the web build `makeExport()` writes (WEB_DIR); removed after. */
export function useWebNetwork(makeExport: () => string): () => TestNetwork {
  let net: TestNetwork | undefined;
  let dir: string | undefined;
  beforeAll(async () => {
    dir = makeExport();
    net = await startTestNetwork({ env: { WEB_DIR: dir } });
  });
  afterAll(async () => {
    await net?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return () => net!;
}
