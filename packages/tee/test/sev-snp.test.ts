import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { AMD_SNP_ROOTS } from "../src/amd-roots";
import { AttestationError } from "../src/errors";
import { applyPolicy, parsePolicy } from "../src/policy";
import { fixture, flippedAt, refusal } from "./support/evidence";
import { parseSnpReport, verifySevSnpReport } from "../src/sev-snp";

// A real report from a Milan guest and the VCEK AMD's KDS issued for its chip and TCB
// (google/go-sev-guest verify/testdata, see fixtures/README.md). The VCEK is valid 2022-09-24..2029-09-24.
const REPORT = fixture("snp-milan-report.bin");
const VCEK_DER = fixture("snp-milan-vcek.der");
const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");
const pemB64 = (pem: string) => pem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, "");
const CERTS = { vcek: b64(VCEK_DER) };
const NOW = Date.UTC(2025, 0, 1) / 1000;
// A second real Milan report, from a guest without DEBUG (POLICY 0x30000), and its VCEK (virtee/sev
// tests/certs_data: report_milan.hex as bytes, vcek_milan.der; VCEK valid 2023-04-03..2030-04-03).
const NODEBUG_REPORT = fixture("snp-milan-nodebug-report.bin");
const NODEBUG_CERTS = { vcek: b64(fixture("snp-milan-nodebug-vcek.der")) };
const hexAt = (b: Uint8Array, from: number, to: number) => Buffer.from(b.subarray(from, to)).toString("hex");
const MEASUREMENT = hexAt(REPORT, 0x90, 0xc0);

const flipped = (at: number) => flippedAt(REPORT, at);

describe("SEV-SNP report verification (real Milan report + VCEK)", () => {
  it("accepts the real report: measurement, report data, reported TCB, its POLICY.DEBUG bit", async () => {
    const q = await verifySevSnpReport(REPORT, CERTS, NOW);
    expect(q.kind).toBe("sev-snp");
    expect(q.measurement).toBe(MEASUREMENT);
    expect(q.measurement).toMatch(/^[0-9a-f]{96}$/);
    expect(q.measurement).not.toBe("0".repeat(96));
    expect(Buffer.from(q.reportData).toString("hex")).toBe(hexAt(REPORT, 0x50, 0x90));
    // The VCEK was requested from KDS with blSPL=2&teeSPL=0&snpSPL=5&ucodeSPL=68 (go-sev-guest verify_test.go).
    expect(q.snpTcb).toEqual({ bootloader: 2, tee: 0, snp: 5, microcode: 68 });
    expect(q.tcbStatus).toBe("bl:2 tee:0 snp:5 ucode:68");
    // The recorded guest was launched with POLICY 0xB0000: SMT, the reserved must-be-one bit 17, and DEBUG (bit 19).
    expect(parseSnpReport(REPORT).policy).toBe(0xb0000n);
    expect(q.debug).toBe(true);
    expect(parseSnpReport(REPORT).version).toBe(2);
  });

  it("accepts the explicit pinned chain (ASK and ARK given) as well as the VCEK alone", async () => {
    const q = await verifySevSnpReport(REPORT, { vcek: CERTS.vcek, ask: pemB64(AMD_SNP_ROOTS.Milan.ask), ark: pemB64(AMD_SNP_ROOTS.Milan.ark) }, NOW);
    expect(q.measurement).toBe(MEASUREMENT);
  });

  it("the default policy refuses the real report DEBUG_GUEST (its signed POLICY.DEBUG bit); clearing the bit breaks the signature", async () => {
    const q = await verifySevSnpReport(REPORT, CERTS, NOW);
    expect(() => applyPolicy(q, parsePolicy({}))).toThrow(expect.objectContaining({ code: "DEBUG_GUEST" }));
    expect(() => applyPolicy(q, parsePolicy({ sevSnp: { allowDebug: true } }))).not.toThrow();
    expect(() => applyPolicy({ ...q, debug: false }, parsePolicy({}))).not.toThrow();
    const r = REPORT.slice();
    r[0x0a]! &= ~0x08; // POLICY bit 19
    expect(parseSnpReport(r).policy).toBe(0x30000n);
    expect((await refusal(verifySevSnpReport(r, CERTS, NOW))).code).toBe("SIGNATURE_INVALID");
  });

  // The tests below allow debug so that the rule under test is the one that decides.
  const DEBUG_OK = { allowDebug: true } as const;

  it("a minTcb at the report's TCB accepts, one above it in any component refuses TCB_NOT_ACCEPTED", async () => {
    const q = await verifySevSnpReport(REPORT, CERTS, NOW);
    expect(() => applyPolicy(q, parsePolicy({ sevSnp: { ...DEBUG_OK, minTcb: { bootloader: 2, tee: 0, snp: 5, microcode: 68 } } }))).not.toThrow();
    for (const minTcb of [
      { bootloader: 2, tee: 0, snp: 6, microcode: 68 },
      { bootloader: 2, tee: 0, snp: 5, microcode: 209 },
      { bootloader: 3, tee: 0, snp: 5, microcode: 68 },
      { bootloader: 2, tee: 1, snp: 5, microcode: 68 },
    ]) {
      expect(() => applyPolicy(q, parsePolicy({ sevSnp: { ...DEBUG_OK, minTcb } }))).toThrow(expect.objectContaining({ code: "TCB_NOT_ACCEPTED" }));
    }
  });

  it("a policy whose measurement list excludes the measurement refuses MEASUREMENT_NOT_ALLOWED; one that lists it accepts", async () => {
    const q = await verifySevSnpReport(REPORT, CERTS, NOW);
    expect(() => applyPolicy(q, parsePolicy({ sevSnp: { ...DEBUG_OK, measurements: ["ab".repeat(48)] } }))).toThrow(expect.objectContaining({ code: "MEASUREMENT_NOT_ALLOWED" }));
    expect(() => applyPolicy(q, parsePolicy({ sevSnp: { ...DEBUG_OK, measurements: ["ab".repeat(48), MEASUREMENT] } }))).not.toThrow();
  });

  it("refuses one flipped byte of the body, the signature, the report data or the reported TCB: SIGNATURE_INVALID", async () => {
    for (const at of [0x90 /* measurement */, 0x2a0 /* signature r */, 0x2a0 + 72 /* signature s */, 0x50 /* report data */, 0x5f, 0x180 /* reported TCB */, 0x1a0 /* chip id */]) {
      const e = await refusal(verifySevSnpReport(flipped(at), CERTS, NOW));
      expect(e.code, `byte 0x${at.toString(16)}`).toBe("SIGNATURE_INVALID");
    }
  });

  it("refuses a foreign certificate in the chain: CERT_CHAIN_INVALID", async () => {
    // Genoa's ASK and ARK are real AMD certificates, but not the Milan VCEK's issuers.
    const genoaAsk = pemB64(AMD_SNP_ROOTS.Genoa.ask);
    const genoaArk = pemB64(AMD_SNP_ROOTS.Genoa.ark);
    expect((await refusal(verifySevSnpReport(REPORT, { ...CERTS, ask: genoaAsk }, NOW))).code).toBe("CERT_CHAIN_INVALID");
    expect((await refusal(verifySevSnpReport(REPORT, { ...CERTS, ark: genoaArk }, NOW))).code).toBe("CERT_CHAIN_INVALID");
    // An ASK that is not an AMD CA at all (the VCEK itself in its place).
    expect((await refusal(verifySevSnpReport(REPORT, { ...CERTS, ask: CERTS.vcek }, NOW))).code).toBe("CERT_CHAIN_INVALID");
    // A "VCEK" that is Milan's ASK: not issued by an SEV CA.
    expect((await refusal(verifySevSnpReport(REPORT, { vcek: pemB64(AMD_SNP_ROOTS.Milan.ask) }, NOW))).code).toBe("CERT_CHAIN_INVALID");
  });

  it("refuses a VCEK whose signature by the ASK is broken: CERT_CHAIN_INVALID", async () => {
    const der = VCEK_DER.slice();
    der[der.length - 10]! ^= 0x01; // inside the ASK's RSA-PSS signature over the VCEK
    expect((await refusal(verifySevSnpReport(REPORT, { vcek: b64(der) }, NOW))).code).toBe("CERT_CHAIN_INVALID");
  });

  it("refuses outside the VCEK's validity (2022-09-24..2029-09-24): CERT_CHAIN_INVALID", async () => {
    for (const when of [Date.UTC(2030, 0, 1) / 1000, Date.UTC(2022, 0, 1) / 1000]) {
      const e = await refusal(verifySevSnpReport(REPORT, CERTS, when));
      expect(e.code).toBe("CERT_CHAIN_INVALID");
      expect(e.message).toMatch(/VCEK is valid/);
    }
  });

  it("refuses a report signed by a VLEK (SIGNING_KEY 1): only VCEKs are accepted", async () => {
    const r = REPORT.slice();
    r[0x48] = (r[0x48]! & ~0x1c) | (1 << 2);
    expect((await refusal(verifySevSnpReport(r, CERTS, NOW))).code).toBe("CERT_CHAIN_INVALID");
  });

  it("refuses truncated or malformed input: EVIDENCE_MALFORMED", async () => {
    expect((await refusal(verifySevSnpReport(REPORT.subarray(0, 0x49f), CERTS, NOW))).code).toBe("EVIDENCE_MALFORMED");
    expect((await refusal(verifySevSnpReport(new Uint8Array(0), CERTS, NOW))).code).toBe("EVIDENCE_MALFORMED");
    expect((await refusal(verifySevSnpReport(REPORT, { vcek: b64(VCEK_DER.subarray(0, 500)) }, NOW))).code).toBe("EVIDENCE_MALFORMED");
    expect((await refusal(verifySevSnpReport(REPORT, { vcek: "" }, NOW))).code).toBe("EVIDENCE_MALFORMED");
    const badAlgo = REPORT.slice();
    badAlgo[0x34] = 2;
    expect((await refusal(verifySevSnpReport(badAlgo, CERTS, NOW))).code).toBe("EVIDENCE_MALFORMED");
  });

  it("refuses a nowSecs that is not a number", async () => {
    await expect(verifySevSnpReport(REPORT, CERTS, Number.NaN)).rejects.toThrow(RangeError);
  });

  it("accepts the second real report (no DEBUG) and the default policy accepts it", async () => {
    const q = await verifySevSnpReport(NODEBUG_REPORT, NODEBUG_CERTS, NOW);
    expect(q.measurement).toBe(hexAt(NODEBUG_REPORT, 0x90, 0xc0));
    expect(q.snpTcb).toEqual({ bootloader: 3, tee: 0, snp: 8, microcode: 115 });
    expect(q.debug).toBe(false);
    expect(parseSnpReport(NODEBUG_REPORT).policy).toBe(0x30000n);
    expect(() => applyPolicy(q, parsePolicy({}))).not.toThrow();
    expect(() => applyPolicy(q, parsePolicy({ sevSnp: { measurements: [q.measurement], minTcb: { bootloader: 3, tee: 0, snp: 8, microcode: 115 } } }))).not.toThrow();
    expect(() => applyPolicy(q, parsePolicy({ sevSnp: { minTcb: { bootloader: 3, tee: 0, snp: 9, microcode: 115 } } }))).toThrow(expect.objectContaining({ code: "TCB_NOT_ACCEPTED" }));
    expect(() => applyPolicy(q, parsePolicy({ sevSnp: { measurements: [MEASUREMENT] } }))).toThrow(expect.objectContaining({ code: "MEASUREMENT_NOT_ALLOWED" }));
  });

  it("refuses a report with another chip's genuine VCEK (same AMD chain): SIGNATURE_INVALID", async () => {
    expect((await refusal(verifySevSnpReport(NODEBUG_REPORT, CERTS, NOW))).code).toBe("SIGNATURE_INVALID");
    expect((await refusal(verifySevSnpReport(REPORT, NODEBUG_CERTS, NOW))).code).toBe("SIGNATURE_INVALID");
  });

  it("walks a Turin VCEK to the pinned Turin ASK/ARK (so the pin is right): its chain passes, then the Milan report's signature fails", async () => {
    // A real Turin VCEK (virtee/sev tests/certs_data/vcek_turin.der, valid 2024-11-06..2031-11-06); no Turin report is public here.
    const turin = { vcek: b64(fixture("snp-turin-vcek.der")) };
    const when = Date.UTC(2025, 5, 1) / 1000;
    expect((await refusal(verifySevSnpReport(REPORT, turin, when))).code).toBe("SIGNATURE_INVALID");
    expect((await refusal(verifySevSnpReport(REPORT, { ...turin, ask: pemB64(AMD_SNP_ROOTS.Turin.ask), ark: pemB64(AMD_SNP_ROOTS.Turin.ark) }, when))).code).toBe("SIGNATURE_INVALID");
    expect((await refusal(verifySevSnpReport(REPORT, { ...turin, ark: pemB64(AMD_SNP_ROOTS.Milan.ark) }, when))).code).toBe("CERT_CHAIN_INVALID");
    expect((await refusal(verifySevSnpReport(REPORT, { ...turin, ask: pemB64(AMD_SNP_ROOTS.Genoa.ask) }, when))).code).toBe("CERT_CHAIN_INVALID");
    expect((await refusal(verifySevSnpReport(REPORT, turin, Date.UTC(2024, 0, 1) / 1000))).code).toBe("CERT_CHAIN_INVALID");
  });
});
