/**
 * The build: the committed TypeScript ABIs (src-ts/generated) are what the current Solidity sources
 * compile to, and every contract fits the EIP-170 size limit.
 */
import { expect, it } from "vitest";
import { compile, sourceHash, staleGeneratedFiles } from "../scripts/compile";
import { SOURCE_HASH } from "../src-ts";

it("src-ts/generated is up to date with the sources (else: npm run compile -w @stun/contracts)", () => {
  const artifacts = compile({ quiet: true });
  expect(staleGeneratedFiles(artifacts)).toEqual([]);
  expect(SOURCE_HASH).toBe(sourceHash());
});

it("every deployable contract fits in 24,576 bytes (EIP-170)", () => {
  for (const [name, artifact] of compile({ quiet: true })) {
    expect((artifact.deployedBytecode.length - 2) / 2, name).toBeLessThanOrEqual(24_576);
  }
});
