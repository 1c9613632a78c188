import { AttestationError, type AttestationErrorCode } from "./errors";
import type { VerifiedQuote } from "./verified-quote";
import { commonName, parseCertDer, pemCertificates } from "./x509-lite";

/** The collateral fields @phala/dcap-qvl reads (PCCS "v4" collateral: PEM chains, JSON bodies, hex or byte-array CRLs/signatures). */
const COLLATERAL_STRINGS = ["pck_crl_issuer_chain", "tcb_info_issuer_chain", "tcb_info", "qe_identity_issuer_chain", "qe_identity"] as const;
const COLLATERAL_BYTES = ["root_ca_crl", "pck_crl", "tcb_info_signature", "qe_identity_signature"] as const;

/** TEE type 0x81 in the quote header: TDX (0 is SGX, which dcap-qvl also verifies). */
const TEE_TYPE_TDX = 0x81;

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/**
 * How @phala/dcap-qvl 0.3.9 says why it refused (it throws plain Errors; the messages are matched
 * here, first match wins). Unknown messages fall through to EVIDENCE_MALFORMED with the message.
 */
const FAILURES: [RegExp, AttestationErrorCode][] = [
  // The quote itself.
  [/Failed to decode quote|Unsupported DCAP (quote version|TEE type|attestation key type|PCK cert format)|must have version|Failed to extract PCK certificates from quote/, "EVIDENCE_MALFORMED"],
  // Signatures over the quote: by the attestation key, the QE report by the PCK, the QE report binding the attestation key.
  [/ISV enclave report signature is invalid|Signature is invalid for qe_report|QE report hash mismatch/, "SIGNATURE_INVALID"],
  // Intel-signed collateral: a signature over the TCB info / QE identity, their validity, their content.
  [
    /Signature is invalid for (tcb_info|qe_identity)|Failed to decode (TcbInfo|QeIdentity)|TCBInfo (expired|issue date)|QE Identity (expired|issue date)|Certificate chain is too short for (TCB Info|QE Identity)|Fmspc mismatch|non-(TDX|SGX) TCB info|Unsupported QE Identity|No (SGX|TDX) components|No TCB levels found in QE Identity/,
    "COLLATERAL_INVALID",
  ],
  // The platform is older than every TCB level Intel lists, or Revoked.
  [/No matching TCB level found|TCB status is invalid|QE ISVSVN .* below minimum/, "TCB_NOT_ACCEPTED"],
  // The QE is not Intel's.
  [/QE (MRSIGNER|ISVPRODID|MISCSELECT|ATTRIBUTES) mismatch/, "SIGNATURE_INVALID"],
  // Certificate chains (PCK → platform/processor CA → Intel root; the collateral signers' chains), CRLs, validity.
  [/certificate chain|CaUsedAsEndEntity|Certificate is revoked|Certificate is expired|Certificate chain is too short in quote/i, "CERT_CHAIN_INVALID"],
  [/Debug mode is enabled/, "DEBUG_GUEST"],
];

function refusal(e: unknown): AttestationError {
  const message = e instanceof Error ? e.message : String(e);
  const cause = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : "";
  for (const [re, code] of FAILURES) if (re.test(message)) return new AttestationError(code, `TDX quote refused: ${message}${cause}`);
  return new AttestationError("EVIDENCE_MALFORMED", `TDX quote refused: ${message}${cause}`);
}

function checkCollateral(collateral: unknown): Record<string, unknown> {
  if (typeof collateral !== "object" || collateral === null) throw new AttestationError("COLLATERAL_INVALID", "no TDX collateral (Intel's TCB info, QE identity and CRLs)");
  const c = collateral as Record<string, unknown>;
  for (const k of COLLATERAL_STRINGS) if (typeof c[k] !== "string" || (c[k] as string).length === 0) throw new AttestationError("COLLATERAL_INVALID", `the TDX collateral has no ${k}`);
  for (const k of COLLATERAL_BYTES) {
    const v = c[k];
    const ok = (typeof v === "string" && /^[0-9a-fA-F]+$/.test(v)) || (Array.isArray(v) && v.length > 0 && v.every((x) => Number.isInteger(x) && x >= 0 && x < 256));
    if (!ok) throw new AttestationError("COLLATERAL_INVALID", `the TDX collateral's ${k} is not hex or a byte array`);
  }
  return c;
}

/**
 * Every certificate of the PCK chain (the collateral's `pck_certificate_chain`, else the one inside
 * the quote) and of the collateral's issuer chains must be valid at `nowSecs`. dcap-qvl checks this in
 * Node, but its browser build has no certificate dates (`validFrom` is undefined and every comparison
 * with it is false), so this is checked here for both.
 */
export function checkTdxCertificateValidity(quote: Uint8Array, collateral: Record<string, unknown>, nowSecs: number): void {
  let quoteText = "";
  for (const b of quote) quoteText += String.fromCharCode(b);
  const texts = [
    typeof collateral.pck_certificate_chain === "string" ? collateral.pck_certificate_chain : quoteText,
    ...["tcb_info_issuer_chain", "qe_identity_issuer_chain", "pck_crl_issuer_chain"].map((k) => String(collateral[k])),
  ];
  const now = nowSecs * 1000;
  for (const text of texts) {
    for (const der of pemCertificates(text)) {
      let notBefore: Date;
      let notAfter: Date;
      let name: string;
      try {
        const c = parseCertDer(der);
        ({ notBefore, notAfter } = c);
        name = commonName(c.subject);
      } catch (e) {
        throw new AttestationError("CERT_CHAIN_INVALID", `a certificate in the TDX chain does not parse (${(e as Error).message})`);
      }
      if (!(now >= notBefore.getTime() && now <= notAfter.getTime()))
        throw new AttestationError("CERT_CHAIN_INVALID", `${name} is valid ${notBefore.toISOString()} to ${notAfter.toISOString()}, not at ${new Date(now).toISOString()}`);
    }
  }
}

type DcapQvl = typeof import("@phala/dcap-qvl");
let dcap: Promise<DcapQvl> | undefined;
/** Loaded on first use (a CommonJS package: its exports may sit on `default` when bundled as ESM). */
const loadDcap = (): Promise<DcapQvl> => {
  dcap ??= import("@phala/dcap-qvl").then((m) => ((m as { verify?: unknown }).verify ? m : (m as unknown as { default: DcapQvl }).default));
  return dcap;
};

/**
 * Verifies an Intel TDX quote (DCAP v4/v5) against Intel-signed collateral with @phala/dcap-qvl,
 * offline: the quote's signature by the attestation key, the QE report's signature by the PCK, the
 * PCK chain to Intel's SGX root (with the CRLs), the QE identity and the TCB info (their signatures
 * and validity at `nowSecs`); reports the TCB status. Policy is applied by the caller.
 *
 * dcap-qvl itself refuses (and so does this): a Revoked TCB or a platform below every TCB level in
 * the TCB info (TCB_NOT_ACCEPTED); a debug TD (DEBUG_GUEST: its TD_ATTRIBUTES.TUD byte is non-zero,
 * whatever the policy's allowDebug says); reserved TD attribute bits, SEPT_VE_DISABLE off, or a
 * non-zero MRSERVICETD (EVIDENCE_MALFORMED). OutOfDate, ConfigurationNeeded, ... are returned as
 * `tcbStatus` for the policy to decide. Edited collateral fails its Intel signature: COLLATERAL_INVALID.
 */
export async function verifyTdxQuote(quote: Uint8Array, collateral: unknown, nowSecs: number): Promise<VerifiedQuote> {
  // dcap-qvl compares dates with `<`/`>`: NaN would pass every validity check.
  if (!Number.isFinite(nowSecs)) throw new RangeError(`nowSecs must be a number of seconds, not ${nowSecs}`);
  if (!(quote instanceof Uint8Array) || quote.length < 48) throw new AttestationError("EVIDENCE_MALFORMED", "a TDX quote starts with a 48-byte header");
  const teeType = new DataView(quote.buffer, quote.byteOffset, quote.byteLength).getUint32(4, true);
  if (teeType !== TEE_TYPE_TDX) throw new AttestationError("EVIDENCE_MALFORMED", `the quote's TEE type is 0x${teeType.toString(16)}, not TDX (0x81)`);
  const c = checkCollateral(collateral);
  const { verify } = await loadDcap();
  let verified: ReturnType<DcapQvl["verify"]>;
  try {
    verified = verify(quote, c as unknown as Parameters<DcapQvl["verify"]>[1], nowSecs);
  } catch (e) {
    throw refusal(e);
  }
  checkTdxCertificateValidity(quote, c, nowSecs);
  const report = verified.report;
  const td = report.type === "td15" ? (report.data as { base: import("@phala/dcap-qvl").TDReport10 }).base : report.type === "td10" ? (report.data as import("@phala/dcap-qvl").TDReport10) : undefined;
  if (!td) throw new AttestationError("EVIDENCE_MALFORMED", `the quote carries a ${report.type} report, not a TD report`);
  return {
    kind: "tdx",
    measurement: hex(td.mrTd),
    reportData: new Uint8Array(td.reportData),
    // TD_ATTRIBUTES bit 0: TUD.DEBUG.
    debug: (td.tdAttributes[0]! & 1) === 1,
    tcbStatus: verified.status,
    advisoryIds: [...verified.advisory_ids],
    rtmrs: [hex(td.rtMr0), hex(td.rtMr1), hex(td.rtMr2), hex(td.rtMr3)],
  };
}
