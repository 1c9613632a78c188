import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { encodeBase64, type Assign } from "@stun/shared";
import { ProviderError } from "@stun/provider-core";
import { generateTeeKeyPair, openOutputs, parsePolicy, sealRequest, verifyEvidence } from "@stun/tee";
import { UsageError, parseCli } from "../src/cli";
import { detectTee } from "../src/tee/detect";
import { ARK_GUID, VCEK_GUID, parseSnpCertTable } from "../src/tee/configfs-tsm";
import { TeeIdentity } from "../src/tee/tee-identity";

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../bin/stun-provider.mjs");

/** A directory standing in for /sys and /dev: only the paths a test creates exist. */
function fakeRoot(make: { tsm?: boolean; tdxDevice?: boolean; sevDevice?: boolean }) {
  const root = mkdtempSync(path.join(os.tmpdir(), "stun-tee-"));
  const paths = { tsmReportDir: path.join(root, "tsm/report"), tdxDevice: path.join(root, "tdx_guest"), sevDevice: path.join(root, "sev-guest") };
  if (make.tsm) mkdirSync(paths.tsmReportDir, { recursive: true });
  if (make.tdxDevice) writeFileSync(paths.tdxDevice, "");
  if (make.sevDevice) writeFileSync(paths.sevDevice, "");
  return paths;
}

describe("TEE detection", () => {
  const probe = (provider: string | undefined) => async () => provider;

  it("finds a TDX or SEV-SNP guest through configfs-tsm, and says when the one asked for is not this one", async () => {
    const paths = fakeRoot({ tsm: true });
    expect(await detectTee("auto", probe("tdx_guest"), paths)).toEqual({ available: true, kind: "tdx", via: "configfs-tsm" });
    expect(await detectTee("sev-snp", probe("sev_guest"), paths)).toEqual({ available: true, kind: "sev-snp", via: "configfs-tsm" });
    expect(await detectTee("sev-snp", probe("tdx_guest"), paths)).toMatchObject({ available: false, kind: "tdx", reason: expect.stringMatching(/tdx guest, not sev-snp/) });
    expect(await detectTee("auto", probe(undefined), paths)).toMatchObject({ available: false, reason: expect.stringMatching(/no TEE guest driver/) });
  });

  it("explains an old kernel (device, no configfs-tsm) and a machine that is no confidential VM", async () => {
    const old = await detectTee("auto", probe("tdx_guest"), fakeRoot({ tdxDevice: true }));
    expect(old).toMatchObject({ available: false, kind: "tdx", reason: expect.stringMatching(/configfs-tsm .* does not: run a kernel ≥ 6.7/) });
    const none = await detectTee("auto", probe(undefined), fakeRoot({}));
    expect(none).toMatchObject({ available: false, reason: expect.stringMatching(/not a confidential VM/) });
  });

  it("answers TEE_UNAVAILABLE on this machine's real paths (no TEE here), for every hardware mode", async () => {
    for (const mode of ["auto", "tdx", "sev-snp"] as const) {
      const e = await TeeIdentity.create(mode).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(ProviderError);
      expect((e as ProviderError).code).toBe("TEE_UNAVAILABLE");
    }
  });
});

describe("the SEV-SNP certificate table (configfs-tsm auxblob)", () => {
  /** GUID string → EFI byte order (first three fields little-endian). */
  const guidBytes = (g: string) => {
    const h = g.replace(/-/g, "");
    const b = Buffer.from(h, "hex");
    return Buffer.concat([Buffer.from(b.subarray(0, 4)).reverse(), Buffer.from(b.subarray(4, 6)).reverse(), Buffer.from(b.subarray(6, 8)).reverse(), b.subarray(8)]);
  };
  const entry = (g: string, offset: number, length: number) => {
    const e = Buffer.alloc(24);
    guidBytes(g).copy(e, 0);
    e.writeUInt32LE(offset, 16);
    e.writeUInt32LE(length, 20);
    return e;
  };

  it("finds each certificate by its GUID", () => {
    const vcek = Buffer.from("vcek-der"),
      ark = Buffer.from("ark-der-bytes");
    const head = 24 * 3;
    const table = Buffer.concat([entry(VCEK_GUID, head, vcek.length), entry(ARK_GUID, head + vcek.length, ark.length), Buffer.alloc(24), vcek, ark]);
    const certs = parseSnpCertTable(new Uint8Array(table));
    expect(Buffer.from(certs.get(VCEK_GUID)!).toString()).toBe("vcek-der");
    expect(Buffer.from(certs.get(ARK_GUID)!).toString()).toBe("ark-der-bytes");
  });

  it("refuses an entry that runs past the table, and a table with no end", () => {
    expect(() => parseSnpCertTable(new Uint8Array(Buffer.concat([entry(VCEK_GUID, 48, 100), Buffer.alloc(24)])))).toThrow(/runs past the table/);
    expect(() => parseSnpCertTable(new Uint8Array(entry(VCEK_GUID, 0, 4)))).toThrow(/no terminating entry/);
  });
});

describe("the simulated TEE identity", () => {
  it("binds its key to the server's nonce, opens a sealed assignment and seals the outputs to the requester", async () => {
    const tee = await TeeIdentity.create("simulated");
    const nonce = "5a".repeat(32);
    const attested = await verifyEvidence(await tee.evidence(nonce), parsePolicy({ allowSimulated: true }), { expectedNonce: nonce });
    expect(attested.publicKey).toEqual(tee.publicKey);

    const requester = await generateTeeKeyPair();
    const modelSha256 = "e".repeat(64);
    const inputs = { x: { dtype: "float32" as const, dims: [2], data: new Uint8Array(new Float32Array([1.5, -2]).buffer) } };
    const box = await sealRequest({ providerPublicKey: tee.publicKey, modelSha256, inputs, replyPublicKey: requester.publicKey });
    const assign = { assignmentId: "asg_1", taskId: "tsk_1", model: { id: "mdl_1", sha256: modelSha256, sizeBytes: 1, url: "/m" }, inputs: {}, leaseMs: 1000, sealed: box } as Assign;
    const opened = await tee.open(assign);
    expect(opened.inputs.x!.dims).toEqual([2]);
    const sealed = await opened.seal({ y: { dtype: "float32", dims: [1], data: new Uint8Array(new Float32Array([7]).buffer) } });
    const { sealedDigest } = await import("@stun/tee");
    const out = await openOutputs(requester.privateKey, sealed, modelSha256, await sealedDigest(box));
    expect(new Float32Array((out.y!.data as Uint8Array).slice().buffer)).toEqual(new Float32Array([7]));

    // Sealed for another model (the server swapped the assignment's model): SEALED_INVALID, nothing run.
    const swapped = await tee.open({ ...assign, model: { ...assign.model, sha256: "f".repeat(64) } }).catch((e: unknown) => e);
    expect((swapped as ProviderError).code).toBe("SEALED_INVALID");
    // Another agent's key (a restart makes a new one): the old box does not open.
    const other = await TeeIdentity.create("simulated");
    expect(((await other.open(assign).catch((e: unknown) => e)) as ProviderError).code).toBe("SEALED_INVALID");
    expect(encodeBase64(other.publicKey)).not.toBe(encodeBase64(tee.publicKey));
  });
});

describe("--tee", () => {
  const base = ["--server", "http://127.0.0.1:3000", "--api-key", "k"];
  it("parses the modes and the refresh period, and refuses others", () => {
    const r = parseCli([...base, "--tee", "simulated", "--tee-refresh-s", "600"], {});
    expect(!r.help && r.options).toMatchObject({ tee: "simulated", teeRefreshMs: 600_000 });
    expect(() => parseCli([...base, "--tee", "sgx"], {})).toThrow(UsageError);
    expect(() => parseCli([...base, "--tee", "auto", "--tee-refresh-s", "1"], {})).toThrow(/--tee-refresh-s/);
  });

  it("exits 1 with TEE_UNAVAILABLE and the reason where there is no TEE, before it connects", () => {
    const r = spawnSync(process.execPath, [BIN, "--server", "http://127.0.0.1:9", "--tee", "auto", "--benchmark-ms", "0"], {
      encoding: "utf8",
      env: { ...process.env, STUN_API_KEY: "k" },
      timeout: 60_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/TEE_UNAVAILABLE|not a confidential VM/);
  });
});
