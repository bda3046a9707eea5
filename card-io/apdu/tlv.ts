/**
 * Minimal BER-TLV (ISO/IEC 7816-4:2020 §6.3) for the tags the home card uses:
 * one- or two-byte tags, definite lengths up to 65535. Enough for FCI and GET
 * DATA templates; not a general ASN.1 parser.
 */
import { CardError, CardErrorCode } from '../errors.js';

export interface Tlv {
  tag: number;
  value: Buffer;
}

function encodeTag(tag: number): Buffer {
  return tag > 0xff ? Buffer.from([tag >> 8, tag & 0xff]) : Buffer.from([tag]);
}

function encodeLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  if (n <= 0xff) return Buffer.from([0x81, n]);
  if (n <= 0xffff) return Buffer.from([0x82, n >> 8, n & 0xff]);
  throw new CardError(CardErrorCode.MalformedApdu, 'TLV value longer than 65535 bytes', { length: n });
}

export function encodeTlv(tag: number, value: Uint8Array): Buffer {
  return Buffer.concat([encodeTag(tag), encodeLength(value.length), Buffer.from(value)]);
}

export function encodeTlvs(items: Array<[number, Uint8Array]>): Buffer {
  return Buffer.concat(items.map(([t, v]) => encodeTlv(t, v)));
}

/** Parse a sequence of TLVs; throws CardError(MalformedApdu) on truncation. */
export function parseTlvs(bytes: Uint8Array): Tlv[] {
  const b = Buffer.from(bytes);
  const out: Tlv[] = [];
  let i = 0;
  const bad = (why: string) => new CardError(CardErrorCode.MalformedApdu, `Malformed TLV: ${why}`, { offset: i });
  while (i < b.length) {
    let tag = b[i++]!;
    // Two-byte tag when the low five bits of the first byte are all set (§6.3.1).
    if ((tag & 0x1f) === 0x1f) {
      if (i >= b.length) throw bad('truncated tag');
      tag = (tag << 8) | b[i++]!;
    }
    if (i >= b.length) throw bad('missing length');
    let len = b[i++]!;
    if (len === 0x81) {
      if (i + 1 > b.length) throw bad('truncated length');
      len = b[i++]!;
    } else if (len === 0x82) {
      if (i + 2 > b.length) throw bad('truncated length');
      len = b.readUInt16BE(i);
      i += 2;
    } else if (len > 0x80) {
      throw bad('unsupported length form');
    }
    if (i + len > b.length) throw bad('value runs past the end');
    out.push({ tag, value: b.subarray(i, i + len) });
    i += len;
  }
  return out;
}

export function findTlv(items: Tlv[], tag: number): Buffer | undefined {
  return items.find((t) => t.tag === tag)?.value;
}
