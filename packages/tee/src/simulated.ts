/**
 * The simulated TEE: a software stand-in for TDX/SEV-SNP so the sealed-task flow runs on machines
 * without the hardware (development, tests, `npm start`). It proves NOTHING: the "vendor" key below
 * is public, so anyone can forge this evidence. The policy accepts it only with `allowSimulated`,
 * which the server refuses to set in production, and every view labels it.
 *
 * Report layout: "STUNSIM1" | u8 version (1) | u8 flags (bit 0: debug) | measurement (48) |
 * reportData (64) | Ed25519 signature (64) over everything before it by SIMULATED_VENDOR_KEY.
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { concatBytes, digest, fromHex, toHex, utf8 } from "./bytes";
import { AttestationError } from "./errors";
import type { VerifiedQuote } from "./verified-quote";

const MAGIC = utf8("STUNSIM1");
const BODY_BYTES = MAGIC.length + 2 + 48 + 64;
export const SIMULATED_REPORT_BYTES = BODY_BYTES + 64;

/** Public on purpose: simulated evidence is forgeable by design. */
export const SIMULATED_VENDOR_SECRET = fromHex("5354554e2d53494d554c415445442d5445452d4e4f542d412d5345435245542e");
export const SIMULATED_VENDOR_PUBLIC = ed25519.getPublicKey(SIMULATED_VENDOR_SECRET);

/** The measurement a simulated agent reports: SHA-384 of a label naming what it stands for. */
export async function simulatedMeasurement(label = "stun-provider-native (simulated TEE)"): Promise<string> {
  return toHex(await digest("SHA-384", utf8(label)));
}

export async function makeSimulatedReport(reportData: Uint8Array, options: { measurement?: string; debug?: boolean } = {}): Promise<Uint8Array> {
  if (reportData.length !== 64) throw new RangeError("report data is 64 bytes");
  const measurement = fromHex(options.measurement ?? (await simulatedMeasurement()));
  if (measurement.length !== 48) throw new RangeError("measurement is 48 bytes");
  const body = concatBytes(MAGIC, new Uint8Array([1, options.debug ? 1 : 0]), measurement, reportData);
  return concatBytes(body, ed25519.sign(body, SIMULATED_VENDOR_SECRET));
}

export function verifySimulatedReport(report: Uint8Array): VerifiedQuote {
  if (report.length !== SIMULATED_REPORT_BYTES || toHex(report.subarray(0, MAGIC.length)) !== toHex(MAGIC))
    throw new AttestationError("EVIDENCE_MALFORMED", `not a simulated TEE report (${SIMULATED_REPORT_BYTES} bytes starting "STUNSIM1")`);
  if (report[MAGIC.length] !== 1) throw new AttestationError("EVIDENCE_MALFORMED", `simulated report version ${report[MAGIC.length]} is not 1`);
  const body = report.subarray(0, BODY_BYTES);
  if (!ed25519.verify(report.subarray(BODY_BYTES), body, SIMULATED_VENDOR_PUBLIC)) throw new AttestationError("SIGNATURE_INVALID", "the simulated report's signature does not verify");
  const at = MAGIC.length + 2;
  return {
    kind: "simulated",
    debug: (report[MAGIC.length + 1]! & 1) === 1,
    measurement: toHex(report.subarray(at, at + 48)),
    reportData: report.slice(at + 48, at + 112),
    tcbStatus: "Simulated",
  };
}
