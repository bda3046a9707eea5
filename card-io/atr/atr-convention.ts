/**
 * The two character conventions of ISO/IEC 7816-3:2006 §8.1. The card sets
 * the convention with TS, the first character of its ATR:
 *
 *  - direct: state Z is 1, least significant bit first; TS reads (3B);
 *  - inverse: state Z is 0, most significant bit first; TS reads (3F).
 *
 * A UART works in the direct convention. Reading an inverse-convention card
 * through it, every byte arrives bit-inverted and bit-reversed, so the card's
 * TS (3F) is received as 03. `fromInverse` undoes that on each byte; it is its
 * own inverse, so it also encodes a byte for sending to such a card.
 */

export type Convention = 'direct' | 'inverse';

/** TS as decoded in each convention (§8.1). */
export const TS_DIRECT = 0x3b;
export const TS_INVERSE = 0x3f;
/** TS of an inverse-convention card as a direct-convention UART receives it. */
export const TS_INVERSE_AS_RECEIVED = 0x03;

/** Bit-invert and bit-reverse one byte. */
export function fromInverse(byte: number): number {
  let v = ~byte & 0xff;
  let r = 0;
  for (let i = 0; i < 8; i++) {
    r = (r << 1) | (v & 1);
    v >>= 1;
  }
  return r;
}

/** Every byte through fromInverse. */
export function convertInverse(bytes: Uint8Array): Buffer {
  return Buffer.from(Array.from(bytes, fromInverse));
}
