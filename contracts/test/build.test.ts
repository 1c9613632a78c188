/**
 * The build: the committed TypeScript ABIs (src-ts/generated) are what the current Solidity sources
 * compile to, and every contract keeps room under the EIP-170 size limit.
 */
import { expect, it } from "vitest";
import { EIP170_LIMIT, SIZE_HEADROOM, compile, deployedSize, sourceHash, staleGeneratedFiles } from "../scripts/compile";
import { SOURCE_HASH } from "../src-ts";

it("src-ts/generated is up to date with the sources (else: npm run compile -w @stun/contracts)", () => {
  const artifacts = compile({ quiet: true });
  expect(staleGeneratedFiles(artifacts)).toEqual([]);
  expect(SOURCE_HASH).toBe(sourceHash());
});

it("every deployable contract leaves at least 4 KB under EIP-170's 24,576 bytes (deployed code ≤ 20,480 bytes)", () => {
  const artifacts = compile({ quiet: true });
  // The marketplace and the contracts it creates are the ones that grow; they must be measured.
  for (const name of ["ComputeMarketplace", "Staking", "ZkProofChecker"]) expect(artifacts.has(name), name).toBe(true);
  for (const [name, artifact] of artifacts) {
    expect(deployedSize(artifact), name).toBeLessThanOrEqual(EIP170_LIMIT - SIZE_HEADROOM);
  }
});
