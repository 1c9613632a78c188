/**
 * Standard base64 (RFC 4648 §4, with padding) without depending on Node's Buffer, so the same code
 * runs in browsers. When `globalThis.Buffer` exists it is used as a fast path for encoding; decoding
 * is always strict: wrong length, characters outside the alphabet (including whitespace and the
 * URL-safe `-`/`_`), misplaced padding and non-zero padding bits are all rejected, so every byte
 * string has exactly one accepted encoding.
 */
import { utf8Decoder, utf8Encoder } from "./bytes";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const ENCODE = utf8Encoder.encode(ALPHABET);
/** Byte → 6-bit value, 0xff for bytes outside the alphabet (every byte ≥ 0x80 included). */
const DECODE = new Uint8Array(256).fill(0xff);
for (let i = 0; i < 64; i++) DECODE[ENCODE[i]!] = i;
const PAD = 0x3d; // "="

/** A malformed base64 string; `offset` is the first offending character where one is known. */
export class Base64Error extends SyntaxError {
  readonly offset: number | undefined;
  constructor(message: string, offset?: number) {
    super(message);
    this.name = "Base64Error";
    this.offset = offset;
  }
}

interface NodeBufferLike {
  from(bytes: ArrayBufferLike, offset: number, length: number): { toString(enc: "base64"): string };
}
const NodeBuffer = (globalThis as { Buffer?: NodeBufferLike }).Buffer;

/** Encodes bytes as padded standard base64 (Buffer fast path when present). */
export function encodeBase64(bytes: Uint8Array): string {
  if (NodeBuffer) return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
  return encodeBase64Js(bytes);
}

/** Decodes strict, padded standard base64; throws Base64Error on anything else. */
export function decodeBase64(text: string): Uint8Array {
  return decodeBase64Js(text);
}

/** The portable encoder behind {@link encodeBase64} (exported so both paths can be tested). */
export function encodeBase64Js(bytes: Uint8Array): string {
  const n = bytes.length;
  const out = new Uint8Array(Math.ceil(n / 3) * 4);
  const whole = n - (n % 3);
  let o = 0;
  for (let i = 0; i < whole; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out[o] = ENCODE[v >>> 18]!;
    out[o + 1] = ENCODE[(v >>> 12) & 63]!;
    out[o + 2] = ENCODE[(v >>> 6) & 63]!;
    out[o + 3] = ENCODE[v & 63]!;
    o += 4;
  }
  if (n % 3 === 1) {
    const v = bytes[whole]!;
    out[o] = ENCODE[v >>> 2]!;
    out[o + 1] = ENCODE[(v & 3) << 4]!;
    out[o + 2] = PAD;
    out[o + 3] = PAD;
  } else if (n % 3 === 2) {
    const v = (bytes[whole]! << 8) | bytes[whole + 1]!;
    out[o] = ENCODE[v >>> 10]!;
    out[o + 1] = ENCODE[(v >>> 4) & 63]!;
    out[o + 2] = ENCODE[(v & 15) << 2]!;
    out[o + 3] = PAD;
  }
  return utf8Decoder.decode(out);
}

/** The strict portable decoder behind {@link decodeBase64}. */
export function decodeBase64Js(text: string): Uint8Array {
  const len = text.length;
  if (len % 4 !== 0) throw new Base64Error(`base64 length ${len} is not a multiple of 4`);
  // Non-ASCII characters encode to bytes ≥ 0x80, which the table rejects; a length change means
  // such a character was present.
  const src = utf8Encoder.encode(text);
  if (src.length !== len) throw invalidCharacter(text);
  if (len === 0) return new Uint8Array(0);
  const pad = src[len - 1] === PAD ? (src[len - 2] === PAD ? 2 : 1) : 0;
  const out = new Uint8Array((len / 4) * 3 - pad);
  const whole = pad === 0 ? len : len - 4;
  let o = 0;
  for (let i = 0; i < whole; i += 4) {
    const a = DECODE[src[i]!]!;
    const b = DECODE[src[i + 1]!]!;
    const c = DECODE[src[i + 2]!]!;
    const d = DECODE[src[i + 3]!]!;
    if ((a | b | c | d) & 0xc0) throw invalidCharacter(text);
    out[o] = (a << 2) | (b >>> 4);
    out[o + 1] = ((b & 15) << 4) | (c >>> 2);
    out[o + 2] = ((c & 3) << 6) | d;
    o += 3;
  }
  if (pad > 0) {
    const a = DECODE[src[whole]!]!;
    const b = DECODE[src[whole + 1]!]!;
    const c = pad === 1 ? DECODE[src[whole + 2]!]! : 0;
    if ((a | b | c) & 0xc0) throw invalidCharacter(text);
    const spare = pad === 2 ? b & 15 : c & 3;
    if (spare !== 0) throw new Base64Error("base64 padding bits are not zero (not a canonical encoding)", len - pad - 1);
    out[o] = (a << 2) | (b >>> 4);
    if (pad === 1) out[o + 1] = ((b & 15) << 4) | (c >>> 2);
  }
  return out;
}

/** Finds the first character that is not allowed where it stands (slow path, errors only). */
function invalidCharacter(text: string): Base64Error {
  const padStart = text.length - (text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const ok = i >= padStart ? code === PAD : code < 128 && DECODE[code] !== 0xff;
    if (!ok) {
      const shown = code === PAD ? "padding '='" : `character ${JSON.stringify(text[i])}`;
      return new Base64Error(`invalid base64: ${shown} at offset ${i}`, i);
    }
  }
  return new Base64Error("invalid base64");
}
