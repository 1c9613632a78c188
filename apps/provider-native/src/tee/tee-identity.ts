/**
 * A TEE agent's identity (docs/TEE.md): an HPKE key pair made at start that never leaves this
 * process, and evidence from the guest hardware (or the simulated TEE) binding its public key to
 * a server nonce. Sealed assignments are opened with it and their outputs sealed to the requester.
 */
import type { Assign, RawTensor, Result, TeeEvidence } from "@stun/shared";
import { encodeBase64 } from "@stun/shared";
import { ProviderError } from "@stun/provider-core";
import { generateTeeKeyPair, makeSimulatedReport, openRequest, reportDataFor, sealOutputs, type TeeKeyPair } from "@stun/tee";
import { ARK_GUID, ASK_GUID, VCEK_GUID, parseSnpCertTable, tsmProvider, tsmReport } from "./configfs-tsm";
import { DEFAULT_PATHS, detectTee, type DetectPaths, type HardwareTeeKind } from "./detect";

export type TeeMode = "auto" | HardwareTeeKind | "simulated";
export const TEE_MODES: readonly TeeMode[] = ["auto", "tdx", "sev-snp", "simulated"];

export class TeeIdentity {
  private constructor(
    readonly kind: TeeEvidence["kind"],
    private readonly keys: TeeKeyPair,
    private readonly paths: DetectPaths,
  ) {}

  /** The identity for `--tee MODE`: TEE_UNAVAILABLE with the reason where the hardware is not here. */
  static async create(mode: TeeMode, paths: DetectPaths = DEFAULT_PATHS): Promise<TeeIdentity> {
    if (mode === "simulated") return new TeeIdentity("simulated", await generateTeeKeyPair(), paths);
    const found = await detectTee(mode, tsmProvider, paths);
    if (!found.available) throw new ProviderError("TEE_UNAVAILABLE", `--tee ${mode}: ${found.reason}`);
    return new TeeIdentity(found.kind, await generateTeeKeyPair(), paths);
  }

  get publicKey(): Uint8Array {
    return this.keys.publicKey;
  }

  /** Evidence answering `nonce`: the quote/report's report data binds our public key and the nonce. */
  async evidence(nonce: string): Promise<TeeEvidence> {
    const reportData = await reportDataFor(this.keys.publicKey, nonce);
    const base = { kind: this.kind, publicKey: encodeBase64(this.keys.publicKey), nonce };
    if (this.kind === "simulated") return { ...base, quote: encodeBase64(await makeSimulatedReport(reportData)) };
    const report = await tsmReport(this.paths.tsmReportDir, reportData).catch((e: unknown) => {
      throw new ProviderError("TEE_UNAVAILABLE", `configfs-tsm report failed: ${(e as Error).message}`);
    });
    if (this.kind === "tdx") return { ...base, quote: encodeBase64(report.outblob) };
    // SEV-SNP: the VCEK (and ASK/ARK when the host supplies them) ride in the certificate table.
    const certs = report.auxblob ? parseSnpCertTable(report.auxblob) : new Map<string, Uint8Array>();
    const vcek = certs.get(VCEK_GUID);
    if (!vcek) throw new ProviderError("TEE_UNAVAILABLE", "the host supplied no VCEK certificate with the SEV-SNP report (configure the host's certificate blob, e.g. snphost import)");
    const ask = certs.get(ASK_GUID);
    const ark = certs.get(ARK_GUID);
    return {
      ...base,
      quote: encodeBase64(report.outblob),
      certificates: { vcek: encodeBase64(vcek), ...(ask ? { ask: encodeBase64(ask) } : {}), ...(ark ? { ark: encodeBase64(ark) } : {}) },
    };
  }

  /** Opens a sealed assignment's inputs (SEALED_INVALID when they are not for this key and model). */
  async open(a: Assign): Promise<{ inputs: Record<string, RawTensor>; seal: (outputs: Record<string, RawTensor>) => Promise<NonNullable<Result["sealed"]>> }> {
    const box = a.sealed!;
    const opened = await openRequest(this.keys.privateKey, box, a.model.sha256).catch((e: unknown) => {
      throw new ProviderError("SEALED_INVALID", (e as Error).message);
    });
    return {
      inputs: opened.inputs,
      seal: (outputs) => sealOutputs(opened.replyPublicKey, outputs, a.model.sha256, opened.inputDigest),
    };
  }
}
