import type { SnpCertificates } from "@stun/shared";
import { AMD_SNP_PRODUCTS, AMD_SNP_ROOTS, type AmdSnpProduct } from "./amd-roots";
import { AttestationError } from "./errors";
import { base64Bytes, type Cert, commonName, equalBytes, OID_RSASSA_PSS, parseCertDer } from "./x509-lite";
import type { VerifiedQuote } from "./verified-quote";

/** WebCrypto's BufferSource (DOM typings) wants ArrayBuffer-backed views: a copy is. */
const ab = (b: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(b);

/** An attestation report (ABI spec 56860, versions 2-5) is 0x4A0 bytes; bytes 0..0x2A0 are signed. */
export const SNP_REPORT_BYTES = 0x4a0;
const SIGNED_BYTES = 0x2a0;
/** SIGNATURE_ALGO 1: ECDSA P-384 with SHA-384. */
const SIG_ALGO_ECDSA_P384_SHA384 = 1;
/** POLICY bit 19: the hypervisor may debug the guest (read and write its memory). */
const POLICY_DEBUG_BIT = 19n;

/** VCEK extensions (AMD's "VCEK Certificate and KDS Interface Specification"). */
const OID = {
  bootloader: "1.3.6.1.4.1.3704.1.3.1",
  tee: "1.3.6.1.4.1.3704.1.3.2",
  snp: "1.3.6.1.4.1.3704.1.3.3",
  microcode: "1.3.6.1.4.1.3704.1.3.8",
  fmc: "1.3.6.1.4.1.3704.1.3.9",
  hwid: "1.3.6.1.4.1.3704.1.4",
} as const;

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

function fromBase64(s: string, what: string): Uint8Array {
  try {
    return base64Bytes(s);
  } catch {
    throw new AttestationError("EVIDENCE_MALFORMED", `the ${what} certificate is not base64`);
  }
}

function parseCert(der: Uint8Array, what: string): Cert {
  try {
    return parseCertDer(der);
  } catch (e) {
    throw new AttestationError("EVIDENCE_MALFORMED", `the ${what} certificate does not parse (${(e as Error).message})`);
  }
}

const pemDer = (pem: string): Uint8Array => fromBase64(pem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, ""), "pinned");

/** The fields of a report this verifier uses (offsets from the ABI spec, table "ATTESTATION_REPORT Structure"). */
export interface SnpReport {
  version: number;
  guestSvn: number;
  policy: bigint;
  vmpl: number;
  signatureAlgo: number;
  /** Bits 4:2 of the flags at 0x48: 0 = VCEK, 1 = VLEK, 7 = none. */
  signingKey: number;
  reportData: Uint8Array;
  measurement: Uint8Array;
  reportedTcb: bigint;
  chipId: Uint8Array;
  /** r and s, big-endian, 48 bytes each (the report stores them little-endian in 72 bytes). */
  signatureP1363: Uint8Array;
}

/** Parses (does not verify) an SEV-SNP attestation report. */
export function parseSnpReport(report: Uint8Array): SnpReport {
  if (report.length < SNP_REPORT_BYTES) throw new AttestationError("EVIDENCE_MALFORMED", `an SEV-SNP report is ${SNP_REPORT_BYTES} bytes, this one ${report.length}`);
  const v = new DataView(report.buffer, report.byteOffset, SNP_REPORT_BYTES);
  const version = v.getUint32(0x00, true);
  if (version < 2 || version > 5) throw new AttestationError("EVIDENCE_MALFORMED", `SEV-SNP report version ${version} is not supported (2-5)`);
  const signatureAlgo = v.getUint32(0x34, true);
  if (signatureAlgo !== SIG_ALGO_ECDSA_P384_SHA384) throw new AttestationError("EVIDENCE_MALFORMED", `SEV-SNP signature algorithm ${signatureAlgo} is not ECDSA P-384/SHA-384 (1)`);
  const sig = new Uint8Array(96);
  for (const [k, at] of [
    [0, 0x2a0],
    [1, 0x2a0 + 72],
  ] as const) {
    const le = report.subarray(at, at + 72);
    // Components are 72-byte little-endian numbers; a P-384 one fits in the low 48 bytes.
    if (le.subarray(48).some((b) => b !== 0)) throw new AttestationError("SIGNATURE_INVALID", "the report signature is not a P-384 signature");
    for (let i = 0; i < 48; i++) sig[k * 48 + i] = le[47 - i]!;
  }
  return {
    version,
    guestSvn: v.getUint32(0x04, true),
    policy: v.getBigUint64(0x08, true),
    vmpl: v.getUint32(0x30, true),
    signatureAlgo,
    signingKey: (v.getUint32(0x48, true) >> 2) & 7,
    reportData: report.slice(0x50, 0x90),
    measurement: report.slice(0x90, 0xc0),
    reportedTcb: v.getBigUint64(0x180, true),
    chipId: report.slice(0x1a0, 0x1e0),
    signatureP1363: sig,
  };
}

/** The REPORTED_TCB components: Milan/Genoa put bootloader, tee, snp, microcode in bytes 0, 1, 6, 7; Turin has fmc in byte 0 and bootloader, tee, snp in 1, 2, 3. */
export function splitTcb(tcb: bigint, product: AmdSnpProduct): { bootloader: number; tee: number; snp: number; microcode: number; fmc?: number } {
  const byte = (i: number) => Number((tcb >> BigInt(8 * i)) & 0xffn);
  if (product === "Turin") return { fmc: byte(0), bootloader: byte(1), tee: byte(2), snp: byte(3), microcode: byte(7) };
  return { bootloader: byte(0), tee: byte(1), snp: byte(6), microcode: byte(7) };
}

/** A DER INTEGER (the VCEK's SPL extensions) as a number; undefined when it is not one. */
function derSmallInt(b: Uint8Array): number | undefined {
  if (b.length < 3 || b[0] !== 0x02 || b[1] !== b.length - 2 || b[1]! > 4) return undefined;
  let n = 0;
  for (const x of b.subarray(2)) n = n * 256 + x;
  return n;
}

async function checkSignedBy(cert: Cert, issuer: Cert, what: string): Promise<void> {
  const issuerName = commonName(issuer.subject);
  if (!equalBytes(cert.issuer, issuer.subject)) throw new AttestationError("CERT_CHAIN_INVALID", `the ${what} was not issued by ${issuerName}`);
  const { oid, hash, saltLength } = cert.sigAlg;
  if (oid !== OID_RSASSA_PSS || hash === "unknown" || hash === "SHA-1")
    throw new AttestationError("CERT_CHAIN_INVALID", `the ${what} is signed with ${oid}/${hash}; AMD's SEV chain uses RSASSA-PSS with SHA-384`);
  let ok = false;
  try {
    const key = await crypto.subtle.importKey("spki", ab(issuer.spki), { name: "RSA-PSS", hash }, false, ["verify"]);
    ok = await crypto.subtle.verify({ name: "RSA-PSS", saltLength }, key, ab(cert.signature), ab(cert.tbs));
  } catch {
    ok = false;
  }
  if (!ok) throw new AttestationError("CERT_CHAIN_INVALID", `the ${what}'s signature by ${issuerName} does not verify`);
}

function checkValidity(cert: Cert, what: string, nowSecs: number): void {
  const now = nowSecs * 1000;
  if (!(now >= cert.notBefore.getTime() && now <= cert.notAfter.getTime()))
    throw new AttestationError(
      "CERT_CHAIN_INVALID",
      `the ${what} is valid ${cert.notBefore.toISOString()} to ${cert.notAfter.toISOString()}, not at ${Number.isFinite(now) ? new Date(now).toISOString() : String(nowSecs)}`,
    );
}

const pinned = new Map<AmdSnpProduct, { ask: Cert; ark: Cert }>();
function pinnedRoots(product: AmdSnpProduct): { ask: Cert; ark: Cert } {
  let r = pinned.get(product);
  if (!r) {
    r = { ask: parseCertDer(pemDer(AMD_SNP_ROOTS[product].ask)), ark: parseCertDer(pemDer(AMD_SNP_ROOTS[product].ark)) };
    pinned.set(product, r);
  }
  return r;
}

/**
 * Verifies an AMD SEV-SNP attestation report: its ECDSA P-384 signature by the VCEK, and the
 * VCEK → ASK → ARK chain to AMD's pinned root (amd-roots.ts; a supplied ARK must be that exact
 * certificate, a supplied ASK must be signed by it; absent ones are taken from the pins). The VCEK
 * must be valid at `nowSecs` and certify the report's REPORTED_TCB (and chip id, unless masked).
 * Reports signed by a VLEK are not accepted. Policy is applied by the caller.
 */
export async function verifySevSnpReport(report: Uint8Array, certs: SnpCertificates, nowSecs: number): Promise<VerifiedQuote> {
  if (!Number.isFinite(nowSecs)) throw new RangeError(`nowSecs must be a number of seconds, not ${nowSecs}`);
  const r = parseSnpReport(report);
  if (r.signingKey !== 0) throw new AttestationError("CERT_CHAIN_INVALID", `the report is signed by key kind ${r.signingKey}; only a VCEK is accepted`);
  if (typeof certs?.vcek !== "string" || certs.vcek.length === 0) throw new AttestationError("EVIDENCE_MALFORMED", "no VCEK certificate");
  const vcek = parseCert(fromBase64(certs.vcek, "VCEK"), "VCEK");

  // The product (which pinned root): the VCEK's issuer is "CN=SEV-<product>".
  const issuerCn = commonName(vcek.issuer);
  const product = AMD_SNP_PRODUCTS.find((p) => issuerCn === `SEV-${p}`);
  if (!product) throw new AttestationError("CERT_CHAIN_INVALID", `the VCEK's issuer (${issuerCn}) is not one of AMD's SEV CAs (${AMD_SNP_PRODUCTS.join(", ")})`);
  const roots = pinnedRoots(product);
  if (certs.ark !== undefined) {
    const ark = parseCert(fromBase64(certs.ark, "ARK"), "ARK");
    if (!equalBytes(ark.der, roots.ark.der)) throw new AttestationError("CERT_CHAIN_INVALID", `the ARK is not AMD's pinned ARK-${product}`);
  }
  const ask = certs.ask !== undefined ? parseCert(fromBase64(certs.ask, "ASK"), "ASK") : roots.ask;

  await checkSignedBy(roots.ark, roots.ark, "ARK");
  await checkSignedBy(ask, roots.ark, "ASK");
  await checkSignedBy(vcek, ask, "VCEK");
  checkValidity(roots.ark, "ARK", nowSecs);
  checkValidity(ask, "ASK", nowSecs);
  checkValidity(vcek, "VCEK", nowSecs);

  // The report's signature, by the VCEK's P-384 key.
  let key: Awaited<ReturnType<typeof crypto.subtle.importKey>>;
  try {
    key = await crypto.subtle.importKey("spki", ab(vcek.spki), { name: "ECDSA", namedCurve: "P-384" }, false, ["verify"]);
  } catch (e) {
    throw new AttestationError("CERT_CHAIN_INVALID", `the VCEK's key is not a P-384 key (${(e as Error).message})`);
  }
  const ok = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-384" }, key, ab(r.signatureP1363), ab(report.subarray(0, SIGNED_BYTES)));
  if (!ok) throw new AttestationError("SIGNATURE_INVALID", "the report's signature does not verify with the VCEK's key");

  // The VCEK certifies one TCB (and one chip): the report must claim the same.
  const tcb = splitTcb(r.reportedTcb, product);
  for (const name of ["bootloader", "tee", "snp", "microcode", "fmc"] as const) {
    const ext = vcek.extensions.get(OID[name]);
    if (!ext) continue;
    const certified = derSmallInt(ext);
    if (certified === undefined) throw new AttestationError("CERT_CHAIN_INVALID", `the VCEK's ${name} SPL extension does not parse`);
    if (certified !== tcb[name]) throw new AttestationError("CERT_CHAIN_INVALID", `the VCEK certifies ${name} SPL ${certified}, the report's REPORTED_TCB has ${tcb[name]}`);
  }
  const hwid = vcek.extensions.get(OID.hwid);
  if (hwid && r.chipId.some((b) => b !== 0)) {
    const v = hwid;
    // KDS writes the 64-byte chip id raw (some tools wrap it in an OCTET STRING).
    const id = v.length === 66 && v[0] === 0x04 && v[1] === 64 ? v.subarray(2) : v;
    if (!equalBytes(id, r.chipId)) throw new AttestationError("CERT_CHAIN_INVALID", "the VCEK is for another chip than the report's CHIP_ID");
  }

  return {
    kind: "sev-snp",
    measurement: hex(r.measurement),
    reportData: r.reportData,
    debug: ((r.policy >> POLICY_DEBUG_BIT) & 1n) === 1n,
    // No vendor status for SNP: the components themselves (policy.ts compares them with minTcb).
    tcbStatus: `bl:${tcb.bootloader} tee:${tcb.tee} snp:${tcb.snp} ucode:${tcb.microcode}`,
    snpTcb: { bootloader: tcb.bootloader, tee: tcb.tee, snp: tcb.snp, microcode: tcb.microcode },
  };
}
