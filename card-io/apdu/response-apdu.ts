/**
 * Response APDU (ISO/IEC 7816-4:2020 §5.1): [data] SW1 SW2.
 */
import { CardError, CardErrorCode } from '../errors.js';

export interface ResponseApdu {
  readonly data: Buffer;
  /** SW1 << 8 | SW2 */
  readonly sw: number;
}

export function responseApdu(sw: number, data: Uint8Array = Buffer.alloc(0)): ResponseApdu {
  return { sw: sw & 0xffff, data: Buffer.from(data) };
}

export function encodeResponseApdu(r: ResponseApdu): Buffer {
  return Buffer.concat([r.data, Buffer.from([r.sw >> 8, r.sw & 0xff])]);
}

export function parseResponseApdu(bytes: Uint8Array): ResponseApdu {
  const b = Buffer.from(bytes);
  if (b.length < 2) {
    throw new CardError(CardErrorCode.MalformedApdu, 'Response APDU shorter than its status word', { length: b.length });
  }
  return { data: b.subarray(0, b.length - 2), sw: b.readUInt16BE(b.length - 2) };
}
