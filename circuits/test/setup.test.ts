/** The trusted-setup plumbing: powers-of-tau files, their sizes, the compile cache. */
import { describe, expect, it } from "vitest";
import { DEV_CEREMONY_SEED, TEST_PTAU_POWER, commitmentSource, compileCircuit, devPtau, devPtauPath, ptauPower, requiredPower, resolvePtau } from "./support/api";

describe("trusted setup", () => {
  it("the development ceremony is cached under a name keyed by its parameters, and says its power", async () => {
    const dev = await devPtau(TEST_PTAU_POWER); // built by the global setup
    expect(dev.path).toBe(devPtauPath(TEST_PTAU_POWER));
    expect(dev.path).not.toBe(devPtauPath(TEST_PTAU_POWER, `${DEV_CEREMONY_SEED}!`));
    expect(ptauPower(dev.path)).toBe(TEST_PTAU_POWER);
  });

  it("takes a given powers-of-tau file (STUN_PTAU / ptauPath) when it is large enough", async () => {
    const file = devPtauPath(TEST_PTAU_POWER);
    const given = await resolvePtau(10, { ptauPath: file });
    expect(given).toMatchObject({ source: "file", power: TEST_PTAU_POWER, path: file });
    expect(given.id).toMatch(/^[0-9a-f]{64}$/);
    await expect(resolvePtau(12, { ptauPath: file })).rejects.toThrow(/holds 2\^11 powers of tau; this circuit needs 2\^12/);
    await expect(resolvePtau(10, { ptauPath: "/nonexistent.ptau" })).rejects.toThrow(/does not exist/);
  });

  it("sizes circuits like snarkjs (the least 2^p above constraints + public signals)", () => {
    expect(requiredPower(906, 3)).toBe(10);
    expect(requiredPower(1020, 4)).toBe(11);
    expect(requiredPower(2746, 14)).toBe(12);
    expect(requiredPower(32730, 14)).toBe(15);
  });

  it("compiles once per source: the second compile is a cache hit", async () => {
    const a = await compileCircuit({ name: "result_commitment_16", source: commitmentSource(1) });
    const b = await compileCircuit({ name: "result_commitment_16", source: commitmentSource(1) });
    expect(b.cached).toBe(true);
    expect(b.r1csPath).toBe(a.r1csPath);
    expect(a.info).toMatchObject({ constraints: 906, publicInputs: 3, privateInputs: 17, publicOutputs: 0 });
  });
});
