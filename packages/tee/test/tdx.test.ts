import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { AttestationError } from "../src/errors";
import { applyPolicy, parsePolicy } from "../src/policy";
import { fixture, flippedAt, refusal } from "./support/evidence";
import { checkTdxCertificateValidity, verifyTdxQuote } from "../src/tdx";

// Real TDX quotes with the Intel-signed collateral fetched for them (Phala-Network/dcap-qvl sample/, see
// fixtures/README.md). tdx_quote (v4) + its collateral: TCB info and QE identity valid 2025-06-19..07-19.
// tdx_quote_outdated (v5, TD 1.5) + its collateral: valid 2026-02-18..03-20.
const json = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8")) as Record<string, unknown>;
const QUOTE = fixture("tdx_quote");
const COLLATERAL = json("tdx_quote_collateral.json");
const NOW = Date.UTC(2025, 5, 27) / 1000;
const OUTDATED_QUOTE = fixture("tdx_quote_outdated");
const OUTDATED_COLLATERAL = json("tdx_quote_outdated_collateral.json");
const OUTDATED_NOW = Date.UTC(2026, 2, 1) / 1000;

// TD report 1.0 offsets in a v4 quote (48-byte header, then the body): TD_ATTRIBUTES, MRTD, RTMR0-3, REPORTDATA.
const TD_ATTRIBUTES = 48 + 120;
const MRTD = 48 + 136;
const RTMR0 = 48 + 328;
const REPORT_DATA = 48 + 520;
// After the 584-byte body: the 4-byte auth data size, then the quote's ECDSA signature (64 bytes).
const SIGNATURE = 48 + 584 + 4;
const hexAt = (b: Uint8Array, from: number, len: number) => Buffer.from(b.subarray(from, from + len)).toString("hex");

const flipped = (at: number) => flippedAt(QUOTE, at);
/** The PCK certificate chain the quote carries (PEM: PCK, platform/processor CA, Intel SGX root CA). */
const pckChain = (): string[] =>
  Buffer.from(QUOTE)
    .toString("latin1")
    .match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];

describe("Intel TDX quote verification (real quote + Intel collateral, @phala/dcap-qvl)", () => {
  it("accepts the real quote: MRTD, RTMRs, report data, UpToDate, not debug", async () => {
    const q = await verifyTdxQuote(QUOTE, COLLATERAL, NOW);
    expect(q.kind).toBe("tdx");
    expect(q.measurement).toBe(hexAt(QUOTE, MRTD, 48));
    expect(q.measurement).toMatch(/^[0-9a-f]{96}$/);
    expect(q.measurement).not.toBe("0".repeat(96));
    expect(q.rtmrs).toEqual([0, 1, 2, 3].map((i) => hexAt(QUOTE, RTMR0 + 48 * i, 48)));
    expect(q.reportData).toHaveLength(64);
    expect(Buffer.from(q.reportData).toString("hex")).toBe(hexAt(QUOTE, REPORT_DATA, 64));
    expect(q.tcbStatus).toBe("UpToDate");
    expect(q.advisoryIds).toEqual([]);
    expect(q.debug).toBe(false);
    expect(QUOTE[TD_ATTRIBUTES]! & 1).toBe(0);
  });

  it("the default policy accepts it; an MRTD or RTMR list without it refuses MEASUREMENT_NOT_ALLOWED", async () => {
    const q = await verifyTdxQuote(QUOTE, COLLATERAL, NOW);
    expect(() => applyPolicy(q, parsePolicy({}))).not.toThrow();
    expect(() => applyPolicy(q, parsePolicy({ tdx: { mrtd: [q.measurement] } }))).not.toThrow();
    expect(() => applyPolicy(q, parsePolicy({ tdx: { mrtd: ["ab".repeat(48)] } }))).toThrow(expect.objectContaining({ code: "MEASUREMENT_NOT_ALLOWED" }));
    expect(() => applyPolicy(q, parsePolicy({ tdx: { rtmrs: [{ rtmr0: q.rtmrs![0], rtmr3: q.rtmrs![3] }] } }))).not.toThrow();
    expect(() => applyPolicy(q, parsePolicy({ tdx: { rtmrs: [{ rtmr0: q.rtmrs![0], rtmr3: "ab".repeat(48) }] } }))).toThrow(expect.objectContaining({ code: "MEASUREMENT_NOT_ALLOWED" }));
  });

  it("policy refuses TCB statuses it does not list (OutOfDate, Revoked) and a debug TD", async () => {
    const q = await verifyTdxQuote(QUOTE, COLLATERAL, NOW);
    for (const tcbStatus of ["OutOfDate", "ConfigurationNeeded", "Revoked"])
      expect(() => applyPolicy({ ...q, tcbStatus }, parsePolicy({}))).toThrow(expect.objectContaining({ code: "TCB_NOT_ACCEPTED" }));
    expect(() => applyPolicy({ ...q, tcbStatus: "OutOfDate" }, parsePolicy({ tdx: { acceptedTcbStatuses: ["UpToDate", "OutOfDate"] } }))).not.toThrow();
    expect(() => applyPolicy({ ...q, debug: true }, parsePolicy({}))).toThrow(expect.objectContaining({ code: "DEBUG_GUEST" }));
  });

  it("policy refuses TDX when it is turned off, and a kind it does not know: KIND_NOT_ACCEPTED", async () => {
    const q = await verifyTdxQuote(QUOTE, COLLATERAL, NOW);
    expect(() => applyPolicy(q, parsePolicy({ tdx: { enabled: false } }))).toThrow(expect.objectContaining({ code: "KIND_NOT_ACCEPTED" }));
    expect(() => applyPolicy({ ...q, kind: "sgx" as never }, parsePolicy({}))).toThrow(expect.objectContaining({ code: "KIND_NOT_ACCEPTED" }));
  });

  it("refuses one flipped byte of the body, the MRTD, TD_ATTRIBUTES.DEBUG, the report data or the signature: SIGNATURE_INVALID", async () => {
    for (const at of [48 + 1 /* TEE_TCB_SVN */, MRTD, TD_ATTRIBUTES, REPORT_DATA, REPORT_DATA + 63, 10 /* header */, SIGNATURE, SIGNATURE + 40]) {
      const e = await refusal(verifyTdxQuote(flipped(at), COLLATERAL, NOW));
      expect(e.code, `byte ${at}`).toBe("SIGNATURE_INVALID");
    }
  });

  it("refuses a PCK chain with a missing or foreign certificate: CERT_CHAIN_INVALID", async () => {
    const [pck, ca, root] = pckChain();
    expect(pck && ca && root).toBeTruthy();
    // The real chain given through the collateral (dcap-qvl prefers it to the quote's) verifies.
    await expect(verifyTdxQuote(QUOTE, { ...COLLATERAL, pck_certificate_chain: [pck, ca, root].join("\n") }, NOW)).resolves.toMatchObject({ tcbStatus: "UpToDate" });
    // The PCK straight under the root (the platform CA left out).
    const skipped = await refusal(verifyTdxQuote(QUOTE, { ...COLLATERAL, pck_certificate_chain: [pck, root].join("\n") }, NOW));
    expect(skipped.code).toBe("CERT_CHAIN_INVALID");
    // The TCB signing certificate (a real Intel certificate, another branch) in the platform CA's place.
    const tcbSigning = String(COLLATERAL.tcb_info_issuer_chain).match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/)![0];
    const foreign = await refusal(verifyTdxQuote(QUOTE, { ...COLLATERAL, pck_certificate_chain: [pck, tcbSigning, root].join("\n") }, NOW));
    expect(foreign.code).toBe("CERT_CHAIN_INVALID");
  });

  it("refuses outside the collateral's validity (2025-06-19..07-19): COLLATERAL_INVALID", async () => {
    for (const when of [Date.UTC(2025, 7, 1) / 1000, Date.UTC(2025, 5, 1) / 1000]) {
      expect((await refusal(verifyTdxQuote(QUOTE, COLLATERAL, when))).code).toBe("COLLATERAL_INVALID");
    }
  });

  it("refuses edited collateral (TCB levels, QE identity): they are signed by Intel, COLLATERAL_INVALID", async () => {
    const tcbInfo = JSON.parse(String(COLLATERAL.tcb_info));
    for (const status of ["OutOfDate", "Revoked"]) {
      const edited = structuredClone(tcbInfo);
      edited.tcbLevels[0].tcbStatus = status;
      const e = await refusal(verifyTdxQuote(QUOTE, { ...COLLATERAL, tcb_info: JSON.stringify(edited) }, NOW));
      expect(e.code).toBe("COLLATERAL_INVALID");
      expect(e.message).toMatch(/Signature is invalid for tcb_info/);
    }
    const extended = structuredClone(tcbInfo);
    extended.nextUpdate = "2035-01-01T00:00:00Z";
    expect((await refusal(verifyTdxQuote(QUOTE, { ...COLLATERAL, tcb_info: JSON.stringify(extended) }, Date.UTC(2025, 7, 1) / 1000))).code).toBe("COLLATERAL_INVALID");
    const qe = String(COLLATERAL.qe_identity).replace('"isvprodid":2', '"isvprodid":3');
    expect(qe).not.toBe(COLLATERAL.qe_identity);
    expect((await refusal(verifyTdxQuote(QUOTE, { ...COLLATERAL, qe_identity: qe }, NOW))).code).toBe("COLLATERAL_INVALID");
  });

  it("refuses the outdated sample: its platform TCB is below every level Intel lists, TCB_NOT_ACCEPTED", async () => {
    const e = await refusal(verifyTdxQuote(OUTDATED_QUOTE, OUTDATED_COLLATERAL, OUTDATED_NOW));
    expect(e.code).toBe("TCB_NOT_ACCEPTED");
    expect(e.message).toMatch(/No matching TCB level/);
    // Its collateral is genuine and current: with the other quote it fails on the FMSPC/TCB match, not on signatures or dates.
    expect((await refusal(verifyTdxQuote(OUTDATED_QUOTE, OUTDATED_COLLATERAL, NOW))).code).toBe("COLLATERAL_INVALID");
  });

  it("refuses missing or malformed collateral: COLLATERAL_INVALID", async () => {
    expect((await refusal(verifyTdxQuote(QUOTE, undefined, NOW))).code).toBe("COLLATERAL_INVALID");
    expect((await refusal(verifyTdxQuote(QUOTE, { ...COLLATERAL, tcb_info: undefined }, NOW))).code).toBe("COLLATERAL_INVALID");
    expect((await refusal(verifyTdxQuote(QUOTE, { ...COLLATERAL, pck_crl: "not hex" }, NOW))).code).toBe("COLLATERAL_INVALID");
  });

  it("refuses truncated or non-TDX input: EVIDENCE_MALFORMED", async () => {
    for (const bytes of [QUOTE.subarray(0, 1000), QUOTE.subarray(0, 600), QUOTE.subarray(0, 20), new Uint8Array(0)]) {
      expect((await refusal(verifyTdxQuote(bytes, COLLATERAL, NOW))).code).toBe("EVIDENCE_MALFORMED");
    }
    const sgx = QUOTE.slice();
    sgx[4] = 0; // TEE type SGX
    expect((await refusal(verifyTdxQuote(sgx, COLLATERAL, NOW))).code).toBe("EVIDENCE_MALFORMED");
  });

  it("checks every certificate's validity itself (dcap-qvl's browser build does not): CERT_CHAIN_INVALID outside it", () => {
    expect(() => checkTdxCertificateValidity(QUOTE, COLLATERAL, NOW)).not.toThrow();
    // Intel's SGX root CA is valid 2018-05-21..2049-12-31; the PCK and signing certificates inside that.
    for (const when of [Date.UTC(2050, 0, 1) / 1000, Date.UTC(2018, 0, 1) / 1000]) {
      const e = (() => {
        try {
          checkTdxCertificateValidity(QUOTE, COLLATERAL, when);
        } catch (err) {
          return err;
        }
      })();
      expect(e).toBeInstanceOf(AttestationError);
      expect((e as AttestationError).code).toBe("CERT_CHAIN_INVALID");
      expect((e as AttestationError).message).toMatch(/is valid .* not at/);
    }
    // The chain it reads is the quote's (3 certificates) unless the collateral brings one.
    expect(() => checkTdxCertificateValidity(QUOTE, { ...COLLATERAL, pck_certificate_chain: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----" }, NOW)).toThrow(
      expect.objectContaining({ code: "CERT_CHAIN_INVALID" }),
    );
  });

  it("refuses a nowSecs that is not a number (NaN would pass dcap-qvl's date comparisons)", async () => {
    await expect(verifyTdxQuote(QUOTE, COLLATERAL, Number.NaN)).rejects.toThrow(RangeError);
  });
});
