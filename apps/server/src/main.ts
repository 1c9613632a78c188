import { parseConfig } from "./env";
import { startServer } from "./server";

/** `stun-server`: starts one marketplace server from the environment (see docs/CONFIGURATION.md). */
const config = parseConfig();
const server = await startServer(config);
let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    await server.close();
    process.exit(0);
  });
}
