import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startTestNetwork, type TestNetwork, type TestNetworkOptions } from "../../../server/test/support/network";
import { WEB_OUT } from "../../scripts/build";

export { eventually } from "../../../server/test/support/network";
export type { TestNetwork };

/** Screenshots and other files tests leave behind (gitignored). */
export const ARTIFACTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../artifacts");
mkdirSync(ARTIFACTS, { recursive: true });

/**
 * The real marketplace serving the built web app (WEB_DIR = apps/web/out) on its own origin:
 * the server on the suite's database, `providers` real native provider processes, a funded
 * requester (`apiKey`). The web project's global setup has built out/ already.
 */
export function startWebNetwork(opts: TestNetworkOptions = {}): Promise<TestNetwork> {
  return startTestNetwork({ ...opts, env: { WEB_DIR: WEB_OUT, ...opts.env } });
}
