/**
 * Epilogue field (ISO/IEC 7816-3:2006 §11.3.4): LRC (one byte, XOR of all
 * prologue and information bytes) or CRC (two bytes). The CRC is the
 * ISO/IEC 13239 CRC-16 as card readers compute it for T=1: reflected
 * polynomial 0x8408, initial value 0xFFFF, no final XOR, most significant
 * byte sent first (as pcsc-lite's T=1 code does).
 */
export type EdcKind = 'lrc' | 'crc';

export function edcLength(kind: EdcKind): number {
  return kind === 'lrc' ? 1 : 2;
}

export function lrc(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let x = 0;
  for (let i = start; i < end; i++) x ^= bytes[i]!;
  return x;
}

const CRC_TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x8408 : c >>> 1;
    t[i] = c;
  }
  return t;
})();

export function crc16(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0xffff;
  for (let i = start; i < end; i++) crc = (crc >>> 8) ^ CRC_TABLE[(crc ^ bytes[i]!) & 0xff]!;
  return crc & 0xffff;
}

/** Compute the epilogue over bytes[start, end). */
export function computeEdc(kind: EdcKind, bytes: Uint8Array, start = 0, end = bytes.length): Buffer {
  if (kind === 'lrc') return Buffer.from([lrc(bytes, start, end)]);
  const c = crc16(bytes, start, end);
  return Buffer.from([c >> 8, c & 0xff]);
}

/** Check the epilogue that follows bytes[start, end). */
export function edcMatches(kind: EdcKind, bytes: Uint8Array, start: number, end: number): boolean {
  if (kind === 'lrc') return lrc(bytes, start, end) === bytes[end];
  const c = crc16(bytes, start, end);
  return bytes[end] === c >> 8 && bytes[end + 1] === (c & 0xff);
}
