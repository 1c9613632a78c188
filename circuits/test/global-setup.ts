/**
 * Vitest global setup of the `circuits` project: makes the development powers of tau (2^11, built
 * once — ~50–80 s on 2 cores — then cached in circuits/.cache/ptau) and the result-commitment
 * circuit and keys, so that test files start from a warm cache instead of racing to build them.
 */
import { commitmentCircuit, devPtau, shutdownZk, TEST_PTAU_POWER } from "../index";

export default async function setup(): Promise<void> {
  const log = (line: string) => console.log(`[circuits] ${line}`);
  await devPtau(TEST_PTAU_POWER, { log });
  await commitmentCircuit(16, { log });
  await shutdownZk();
}
