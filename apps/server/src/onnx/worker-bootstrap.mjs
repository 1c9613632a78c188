// The ONNX worker process's entry (onnx/worker-pool.ts). A worker starts as plain Node, whoever
// started the server (tsx CLI, vitest, bin/stun-server.mjs): register tsx's loader here, then load
// the TypeScript worker.
import { register } from "tsx/esm/api";

register();
await import("./worker-main.ts");
