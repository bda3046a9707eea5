/**
 * The reference card's Answer-to-Reset (ISO/IEC 7816-3 §8.2): T=1 only, IFSC
 * 254 (the largest block, §11.4.2), the EDC the card is configured with, a
 * BWI whose block waiting time covers the card's own (it asks for S(WTX) at
 * half of it), and TA1 offering Di = 4 (four times the default speed) for PPS.
 * Historical bytes: category 80, then compact-TLV pre-issuing data "homegate".
 */
import type { Convention } from '../atr/atr-convention.js';
import { t1CardAtr } from '../atr/atr-encode.js';

/** Fi/Di offered in TA1: Fi 372, Di 4 (TA1 = 13). */
export const CARD_FI = 372;
export const CARD_DI = 4;
export const CARD_IFSC = 254;
const HISTORICAL_BYTES = Buffer.concat([Buffer.from([0x80, 0x68]), Buffer.from('homegate', 'ascii')]);

/**
 * BWI such that BWT = 2^BWI × 960 × Fd / f (§11.4.3; f = Fd × baud at the
 * default speed, so 2^BWI × 960 / baud seconds) is at least `bwtMs`; 0..9.
 */
export function bwiFor(bwtMs: number, baudRate: number): number {
  const needed = Math.ceil(Math.log2((bwtMs / 1000) * (baudRate / 960)));
  return Math.min(9, Math.max(0, needed));
}

export function homeCardAtr(o: { edc: 'lrc' | 'crc'; bwtMs: number; baudRate: number; convention?: Convention }): Buffer {
  return t1CardAtr({
    convention: o.convention,
    fi: CARD_FI,
    di: CARD_DI,
    ifsc: CARD_IFSC,
    bwi: bwiFor(o.bwtMs, o.baudRate),
    cwi: 13,
    edc: o.edc,
    historicalBytes: HISTORICAL_BYTES,
  });
}
