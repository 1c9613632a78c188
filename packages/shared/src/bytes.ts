/**
 * Byte-order helpers shared by the tensor codec and the .npy reader. Stun's wire and storage
 * formats are little-endian everywhere; these helpers make that true on any host.
 */

/** True on little-endian hosts (every platform Node and browsers ship on today). */
export const HOST_IS_LITTLE_ENDIAN: boolean = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Reverses the byte order of every `width`-byte element of `bytes`, in place. `bytes.length`
 * must be a multiple of `width`; width 1 is a no-op.
 */
export function swapBytesInPlace(bytes: Uint8Array, width: number): Uint8Array {
  if (width <= 1) return bytes;
  if (bytes.length % width !== 0) {
    throw new RangeError(`swapBytesInPlace: ${bytes.length} bytes is not a multiple of ${width}`);
  }
  for (let i = 0; i < bytes.length; i += width) {
    for (let lo = i, hi = i + width - 1; lo < hi; lo++, hi--) {
      const t = bytes[lo]!;
      bytes[lo] = bytes[hi]!;
      bytes[hi] = t;
    }
  }
  return bytes;
}

/** Shared UTF-8 codecs. The decoder is strict (invalid UTF-8 throws) and keeps a leading BOM. */
export const utf8Encoder = new TextEncoder();
export const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * True when `s` contains an unpaired UTF-16 surrogate. Such strings have no UTF-8 encoding (the
 * encoder would silently substitute U+FFFD), so two different strings could encode alike.
 */
export const hasLoneSurrogate = (s: string): boolean => LONE_SURROGATE.test(s);

/**
 * A fresh copy of the bytes at offset 0 of a new buffer. Never `bytes.slice()`: on a Node Buffer,
 * `slice` returns a view of the same memory, not a copy (and Uint8Array.prototype.slice on a Buffer
 * makes a pooled Buffer, not an offset-0 buffer).
 */
export const copyBytes = (bytes: Uint8Array): Uint8Array => new Uint8Array(bytes);

/** The parts one after another in a new array (a single part is returned as it is, without a copy). */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let n = 0;
  for (const p of parts) n += p.byteLength;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}
