#!/usr/bin/env node
// stun-provider: the Stun native provider agent. Runs the TypeScript sources through tsx.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/main.ts");
const code = await main();
process.exit(code);
