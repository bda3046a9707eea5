/**
 * The few DER (ITU-T X.690 §8, §10) operations the proxy needs on bytes that
 * must not be re-encoded: walking an OpenSSL SSL_SESSION, finding the subject
 * Name inside the card certificate, and wrapping the TBS the card signed into
 * the final Certificate. Single-byte tags only (all tags used here are below
 * 31) and definite lengths only, as DER requires (§10.1).
 *
 * The reader never throws: malformed input gives `null` (parsers never throw
 * on line noise: bytes from a peer are data, not a reason to crash).
 */

/** One TLV inside a buffer: `tag` at `start`, contents in [`contentStart`, `end`). */
export interface Tlv {
  tag: number;
  start: number;
  contentStart: number;
  end: number;
}

/** The TLV at `offset`, or null when it is malformed or does not fit before `limit`. */
export function readTlv(buf: Uint8Array, offset: number, limit = buf.length): Tlv | null {
  if (offset + 2 > limit) return null;
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) return null; // multi-byte tag: not used here
  const first = buf[offset + 1]!;
  let length = first;
  let contentStart = offset + 2;
  if (first >= 0x80) {
    const n = first & 0x7f;
    if (n === 0 || n > 4 || offset + 2 + n > limit) return null; // 0x80 is the indefinite form
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[offset + 2 + i]!;
    contentStart += n;
  }
  const end = contentStart + length;
  return end <= limit ? { tag, start: offset, contentStart, end } : null;
}

/** The TLVs that exactly tile the contents of a constructed `parent`, or null. */
export function childrenOf(buf: Uint8Array, parent: Tlv): Tlv[] | null {
  const out: Tlv[] = [];
  let i = parent.contentStart;
  while (i < parent.end) {
    const child = readTlv(buf, i, parent.end);
    if (child === null) return null;
    out.push(child);
    i = child.end;
  }
  return out;
}

/** The single top-level SEQUENCE filling the whole buffer, or null. */
export function readOuterSequence(buf: Uint8Array): Tlv | null {
  const tlv = readTlv(buf, 0);
  return tlv !== null && tlv.tag === 0x30 && tlv.end === buf.length ? tlv : null;
}

/** An unsigned INTEGER's value (X.690 §8.3), null when negative or beyond 2^53. */
export function readUnsignedInteger(buf: Uint8Array, tlv: Tlv): number | null {
  if (tlv.tag !== 0x02 || tlv.end === tlv.contentStart) return null;
  if ((buf[tlv.contentStart]! & 0x80) !== 0) return null;
  let value = 0;
  for (let i = tlv.contentStart; i < tlv.end; i++) value = value * 256 + buf[i]!;
  return Number.isSafeInteger(value) ? value : null;
}

/** A DER length (X.690 §8.1.3): short form below 128, else the minimal long form. */
export function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One TLV from a tag and its already-encoded contents. */
export function encodeTlv(tag: number, ...contents: Uint8Array[]): Buffer {
  const body = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), encodeLength(body.length), body]);
}
