/**
 * Vitest global setup of the `contracts` project: compiles the Solidity sources once (cached by
 * their hash in contracts/artifacts). Outside CI it also refreshes src-ts/generated when the
 * sources changed, so the tests run the code being edited; in CI a stale src-ts/generated is left
 * for the freshness test to fail on.
 */
import { compile, staleGeneratedFiles, writeGenerated } from "../../scripts/compile";

export default function setup(): void {
  const artifacts = compile();
  if (!process.env.CI && staleGeneratedFiles(artifacts).length > 0) writeGenerated(artifacts);
}
