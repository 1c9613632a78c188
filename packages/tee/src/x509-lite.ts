/**
 * Just enough X.509 (DER) to walk AMD's SEV chain and to read certificate validity, with no
 * dependency (runs in Node and browsers): @peculiar/x509 2.x needs a global Reflect metadata polyfill
 * (tsyringe) this package does not install, and WebCrypto checks the signatures.
 */

/** Standard base64 to bytes; throws on anything else. */
export function base64Bytes(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The DER certificates in a PEM text (in order). */
export const pemCertificates = (text: string): Uint8Array[] =>
  (text.match(/-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----/g) ?? []).map((pem) => base64Bytes(pem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, "")));

export const equalBytes = (x: Uint8Array, y: Uint8Array): boolean => x.length === y.length && x.every((v, i) => v === y[i]);

export interface Tlv {
  tag: number;
  /** Offsets of the whole element and of its contents. */
  start: number;
  body: number;
  end: number;
}
export function tlv(b: Uint8Array, at: number, limit = b.length): Tlv {
  if (at + 2 > limit) throw new Error("truncated DER");
  const tag = b[at]!;
  let len = b[at + 1]!;
  let body = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || body + n > limit) throw new Error("bad DER length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[body + i]!;
    body += n;
  }
  if (body + len > limit) throw new Error("truncated DER");
  return { tag, start: at, body, end: body + len };
}
export function children(b: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.body; at < parent.end; ) {
    const t = tlv(b, at, parent.end);
    out.push(t);
    at = t.end;
  }
  return out;
}
export function oidString(b: Uint8Array, t: Tlv): string {
  if (t.tag !== 0x06) throw new Error("expected an OID");
  const parts: number[] = [];
  let v = 0;
  for (let i = t.body; i < t.end; i++) {
    v = v * 128 + (b[i]! & 0x7f);
    if (!(b[i]! & 0x80)) {
      if (parts.length === 0) parts.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else parts.push(v);
      v = 0;
    }
  }
  return parts.join(".");
}
function derTime(b: Uint8Array, t: Tlv): Date {
  const s = new TextDecoder().decode(b.subarray(t.body, t.end));
  const m = t.tag === 0x17 ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s) : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) throw new Error(`bad time ${s}`);
  let y = Number(m[1]);
  if (t.tag === 0x17) y += y < 50 ? 2000 : 1900;
  return new Date(Date.UTC(y, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}

export const OID_RSASSA_PSS = "1.2.840.113549.1.1.10";
const HASH_OIDS: Record<string, string> = { "2.16.840.1.101.3.4.2.1": "SHA-256", "2.16.840.1.101.3.4.2.2": "SHA-384", "2.16.840.1.101.3.4.2.3": "SHA-512" };

export interface Cert {
  der: Uint8Array;
  tbs: Uint8Array;
  /** RSASSA-PSS parameters of the issuer's signature (the only algorithm AMD's SEV chain uses). */
  sigAlg: { oid: string; hash: string; saltLength: number };
  signature: Uint8Array;
  issuer: Uint8Array;
  subject: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  spki: Uint8Array;
  /** extnValue contents by OID. */
  extensions: Map<string, Uint8Array>;
}

export function parseCertDer(der: Uint8Array): Cert {
  const top = tlv(der, 0);
  if (top.tag !== 0x30 || top.end !== der.length) throw new Error("not one DER SEQUENCE");
  const [tbsT, algT, sigT] = children(der, top);
  if (!tbsT || !algT || !sigT || sigT.tag !== 0x03) throw new Error("not a certificate");
  const tbsParts = children(der, tbsT);
  let i = tbsParts[0]?.tag === 0xa0 ? 1 : 0;
  i++; // serialNumber
  i++; // signature (repeated in signatureAlgorithm)
  const issuerT = tbsParts[i++];
  const validityT = tbsParts[i++];
  const subjectT = tbsParts[i++];
  const spkiT = tbsParts[i++];
  if (!issuerT || !validityT || !subjectT || !spkiT) throw new Error("truncated TBSCertificate");
  const [nb, na] = children(der, validityT);
  if (!nb || !na) throw new Error("bad validity");
  const extensions = new Map<string, Uint8Array>();
  const extsT = tbsParts.slice(i).find((t) => t.tag === 0xa3);
  if (extsT) {
    const seq = children(der, extsT)[0];
    for (const ext of seq ? children(der, seq) : []) {
      const parts = children(der, ext);
      const value = parts[parts.length - 1];
      if (!parts[0] || !value || value.tag !== 0x04) throw new Error("bad extension");
      extensions.set(oidString(der, parts[0]), der.subarray(value.body, value.end));
    }
  }
  const algParts = children(der, algT);
  const oid = oidString(der, algParts[0]!);
  let hash = "SHA-1";
  let saltLength = 20;
  if (oid === OID_RSASSA_PSS && algParts[1]?.tag === 0x30) {
    for (const p of children(der, algParts[1])) {
      const inner = children(der, p)[0];
      if (!inner) continue;
      if (p.tag === 0xa0) hash = HASH_OIDS[oidString(der, children(der, inner)[0]!)] ?? "unknown";
      if (p.tag === 0xa2 && inner.tag === 0x02) saltLength = der.subarray(inner.body, inner.end).reduce((n, x) => n * 256 + x, 0);
    }
  }
  return {
    der,
    tbs: der.subarray(tbsT.start, tbsT.end),
    sigAlg: { oid, hash, saltLength },
    // BIT STRING: the first content byte counts the unused bits (0).
    signature: der.subarray(sigT.body + 1, sigT.end),
    issuer: der.subarray(issuerT.start, issuerT.end),
    subject: der.subarray(subjectT.start, subjectT.end),
    notBefore: derTime(der, nb),
    notAfter: derTime(der, na),
    spki: der.subarray(spkiT.start, spkiT.end),
    extensions,
  };
}

/** The CN of a DER Name (the first one), or "". */
export function commonName(name: Uint8Array): string {
  const cn = [0x06, 0x03, 0x55, 0x04, 0x03];
  for (let i = 0; i + cn.length < name.length; i++) {
    if (cn.every((x, k) => name[i + k] === x)) {
      const v = tlv(name, i + cn.length);
      return new TextDecoder().decode(name.subarray(v.body, v.end));
    }
  }
  return "";
}
