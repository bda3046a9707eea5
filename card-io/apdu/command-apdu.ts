/**
 * Command APDU (ISO/IEC 7816-4:2020 §5.1): CLA INS P1 P2 [Lc data] [Le].
 *
 * Encoding picks short lengths when the data fits 1..255 bytes and Ne ≤ 256,
 * extended lengths otherwise (§5.1, cases 2E/3E/4E). Parsing accepts all seven
 * cases and rejects anything else with a typed error.
 */
import { CardError, CardErrorCode } from '../errors.js';

export const MAX_SHORT_LC = 255;
export const MAX_SHORT_NE = 256;
export const MAX_EXTENDED_LC = 65535;
export const MAX_EXTENDED_NE = 65536;

export interface CommandApdu {
  readonly cla: number;
  readonly ins: number;
  readonly p1: number;
  readonly p2: number;
  /** Command data field (Nc = data.length). */
  readonly data: Buffer;
  /** Maximum number of response bytes expected (Ne); 0 means no Le field. */
  readonly ne: number;
}

export function commandApdu(cla: number, ins: number, p1: number, p2: number, data: Uint8Array = Buffer.alloc(0), ne = 0): CommandApdu {
  for (const [name, v] of [
    ['CLA', cla],
    ['INS', ins],
    ['P1', p1],
    ['P2', p2],
  ] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0xff) {
      throw new CardError(CardErrorCode.MalformedApdu, `${name} must be one byte`, { [name]: v });
    }
  }
  if (data.length > MAX_EXTENDED_LC) {
    throw new CardError(CardErrorCode.ApduTooLong, 'Command data longer than 65535 bytes', { nc: data.length });
  }
  if (!Number.isInteger(ne) || ne < 0 || ne > MAX_EXTENDED_NE) {
    throw new CardError(CardErrorCode.MalformedApdu, 'Ne must be 0..65536', { ne });
  }
  return { cla, ins, p1, p2, data: Buffer.from(data), ne };
}

export function encodeCommandApdu(apdu: CommandApdu): Buffer {
  const { cla, ins, p1, p2, data, ne } = apdu;
  const header = Buffer.from([cla, ins, p1, p2]);
  const nc = data.length;
  const extended = nc > MAX_SHORT_LC || ne > MAX_SHORT_NE;
  if (!extended) {
    const parts: Buffer[] = [header];
    if (nc > 0) parts.push(Buffer.from([nc]), data);
    if (ne > 0) parts.push(Buffer.from([ne === MAX_SHORT_NE ? 0 : ne]));
    return Buffer.concat(parts);
  }
  const parts: Buffer[] = [header];
  if (nc > 0) parts.push(Buffer.from([0, nc >> 8, nc & 0xff]), data);
  if (ne > 0) {
    const le = ne === MAX_EXTENDED_NE ? 0 : ne;
    // Case 2E carries a leading 00 before the two Le bytes; in case 4E Lc already had it.
    parts.push(nc > 0 ? Buffer.from([le >> 8, le & 0xff]) : Buffer.from([0, le >> 8, le & 0xff]));
  }
  return Buffer.concat(parts);
}

function malformed(reason: string, length: number): CardError {
  return new CardError(CardErrorCode.MalformedApdu, `Malformed command APDU: ${reason}`, { length });
}

/** Parse a command APDU; throws CardError(MalformedApdu) on any length inconsistency. */
export function parseCommandApdu(bytes: Uint8Array): CommandApdu {
  const b = Buffer.from(bytes);
  const n = b.length;
  if (n < 4) throw malformed('shorter than the 4-byte header', n);
  const [cla, ins, p1, p2] = [b[0]!, b[1]!, b[2]!, b[3]!];
  const empty = Buffer.alloc(0);
  if (n === 4) return { cla, ins, p1, p2, data: empty, ne: 0 }; // case 1
  const b4 = b[4]!;
  if (n === 5) return { cla, ins, p1, p2, data: empty, ne: b4 === 0 ? 256 : b4 }; // case 2S
  if (b4 !== 0) {
    if (n === 5 + b4) return { cla, ins, p1, p2, data: b.subarray(5, 5 + b4), ne: 0 }; // case 3S
    if (n === 6 + b4) {
      const le = b[n - 1]!;
      return { cla, ins, p1, p2, data: b.subarray(5, 5 + b4), ne: le === 0 ? 256 : le }; // case 4S
    }
    throw malformed('short Lc does not match the length', n);
  }
  // b4 == 0 and n > 5: extended lengths
  if (n < 7) throw malformed('truncated extended length', n);
  const l = b.readUInt16BE(5);
  if (n === 7) return { cla, ins, p1, p2, data: empty, ne: l === 0 ? 65536 : l }; // case 2E
  if (l === 0) throw malformed('extended Lc of zero', n);
  if (n === 7 + l) return { cla, ins, p1, p2, data: b.subarray(7, 7 + l), ne: 0 }; // case 3E
  if (n === 9 + l) {
    const le = b.readUInt16BE(7 + l);
    return { cla, ins, p1, p2, data: b.subarray(7, 7 + l), ne: le === 0 ? 65536 : le }; // case 4E
  }
  throw malformed('extended Lc does not match the length', n);
}

/** Short description for logs: header and lengths only, never the data (it may hold a PIN). */
export function describeCommandApdu(apdu: CommandApdu): string {
  const h = (v: number) => v.toString(16).padStart(2, '0');
  return `${h(apdu.cla)} ${h(apdu.ins)} ${h(apdu.p1)} ${h(apdu.p2)} Nc=${apdu.data.length} Ne=${apdu.ne}`;
}
