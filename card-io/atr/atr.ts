/**
 * The Answer-to-Reset, ISO/IEC 7816-3:2006 §8.2: what a card says right after
 * reset, and so how to talk to it. Layout (§8.2.1 to §8.2.5):
 *
 *   TS  T0  (TAi TBi TCi TDi)…  T1…TK  [TCK]
 *
 * TS sets the convention (atr-convention.ts). T0's high nibble Y1 says which
 * of TA1…TD1 follow, its low nibble K the number of historical bytes. Each TDi
 * names a protocol T in its low nibble and, in its high nibble, which of
 * TAi+1…TDi+1 follow. TCK, the exclusive-or check over T0…TCK, is present
 * unless T=0 is the only protocol indicated (§8.2.5). At most 32 characters
 * follow TS (§8.2.1).
 *
 * What the T=1 layer takes from it (§11.4): the first TAi, TBi, TCi with i > 2
 * after a TDi-1 naming T=1 carry IFSC (default 32), BWI/CWI (defaults 4 and
 * 13) and the EDC (bit 1 of TC: CRC, else LRC). TA1 carries Fi/Di (§8.3).
 */
import { CardError, CardErrorCode } from '../errors.js';
import { convertInverse, TS_DIRECT, TS_INVERSE, TS_INVERSE_AS_RECEIVED, type Convention } from './atr-convention.js';
import { DEFAULT_DI, DEFAULT_FI, diFromIndex, fiFromIndex, fmaxFromIndex } from './atr-tables.js';

/** One group of interface bytes, TAi…TDi; absent bytes are undefined. */
export interface InterfaceGroup {
  ta?: number;
  tb?: number;
  tc?: number;
  td?: number;
}

export type TckState = 'valid' | 'invalid' | 'absent';

/** T=1 parameters from the ATR, or the §11.4 defaults where it has none. */
export interface T1AtrParameters {
  /** Information field size of the card, 1..254 (TA for T=1; default 32). */
  ifsc: number;
  /** Block waiting time integer, 0..15 (high nibble of TB for T=1; default 4). */
  bwi: number;
  /** Character waiting time integer, 0..15 (low nibble of TB for T=1; default 13). */
  cwi: number;
  /** Error detection code (bit 1 of TC for T=1: 1 = CRC; default LRC). */
  edc: 'lrc' | 'crc';
}

export interface Atr {
  /** The ATR as the card's characters (decoded: TS is 3B or 3F). */
  readonly bytes: Buffer;
  readonly convention: Convention;
  readonly t0: number;
  /** Groups 1…n of interface bytes, in order. */
  readonly groups: readonly InterfaceGroup[];
  readonly historicalBytes: Buffer;
  readonly tck: TckState;
  /** Protocols offered, in the order indicated (T=15 is not a protocol); [0] without TD1. */
  readonly protocols: readonly number[];
  /** Clock rate conversion factor from TA1 (default 372). */
  readonly fi: number;
  /** Baud rate adjustment factor from TA1 (default 1). */
  readonly di: number;
  /** Maximum clock frequency in MHz for the FI of TA1 (default 5 for FI 1). */
  readonly fmaxMHz: number;
  /** TC1: extra guard time N in etu (255: minimum guard time). Default 0. */
  readonly extraGuardTime: number;
  /** TA2 present: the card is in the specific mode of this protocol (no PPS possible, §7.1). */
  readonly specificMode?: { protocol: number; canChange: boolean };
  readonly t1: T1AtrParameters;
}

/** The most characters after TS (§8.2.1). */
export const MAX_ATR_CHARACTERS_AFTER_TS = 32;

export const T1_DEFAULTS: T1AtrParameters = { ifsc: 32, bwi: 4, cwi: 13, edc: 'lrc' };

function invalid(reason: string, bytes: Uint8Array): CardError {
  return new CardError(CardErrorCode.AtrInvalid, `Invalid ATR: ${reason}`, { reason, atr: Buffer.from(bytes).toString('hex') });
}

/**
 * The structure of the ATR's first bytes: how many characters the whole ATR
 * has, or 'more' when these bytes do not say yet (reading from a line, §8.2).
 * Throws CardError(AtrInvalid) when TS is wrong. `bytes` are decoded (TS 3B or 3F).
 */
export function atrLength(bytes: Uint8Array): number | 'more' {
  if (bytes.length === 0) return 'more';
  if (bytes[0] !== TS_DIRECT && bytes[0] !== TS_INVERSE) throw invalid(`TS is ${hexByte(bytes[0]!)}, neither 3B (direct) nor 3F (inverse)`, bytes);
  if (bytes.length < 2) return 'more';
  let pos = 2;
  let y = bytes[1]! >> 4;
  let tck = false;
  for (;;) {
    const count = popcount(y & 0x7);
    if (!(y & 0x8)) {
      pos += count;
      break;
    }
    pos += count + 1;
    if (pos > MAX_ATR_CHARACTERS_AFTER_TS + 1) throw invalid(`the interface bytes run past ${MAX_ATR_CHARACTERS_AFTER_TS} characters after TS`, bytes);
    if (bytes.length < pos) return 'more';
    const td = bytes[pos - 1]!;
    if ((td & 0x0f) !== 0) tck = true;
    y = td >> 4;
  }
  return pos + (bytes[1]! & 0x0f) + (tck ? 1 : 0);
}

/**
 * Parses an ATR: decoded characters (TS 3B or 3F), or bytes as a
 * direct-convention UART received them from an inverse-convention card (first
 * byte 03). Throws CardError(AtrInvalid) naming the problem; a wrong TCK is
 * not thrown but reported in `tck`, so tools can still show the rest.
 */
export function parseAtr(input: Uint8Array): Atr {
  if (input.length === 0) throw invalid('no bytes', input);
  const bytes = input[0] === TS_INVERSE_AS_RECEIVED ? convertInverse(input) : Buffer.from(input);
  const convention: Convention = bytes[0] === TS_INVERSE ? 'inverse' : 'direct';
  const length = atrLength(bytes);
  if (length === 'more' || bytes.length < length) throw invalid(`truncated: ${bytes.length} bytes, the interface bytes announce more`, bytes);
  if (bytes.length > length) throw invalid(`${bytes.length - length} unexpected bytes after the ATR`, bytes);
  if (length - 1 > MAX_ATR_CHARACTERS_AFTER_TS) throw invalid(`${length - 1} characters after TS, at most ${MAX_ATR_CHARACTERS_AFTER_TS} allowed`, bytes);

  const t0 = bytes[1]!;
  const groups: InterfaceGroup[] = [];
  const protocols: number[] = [];
  let pos = 2;
  let y = t0 >> 4;
  let tckPresent = false;
  for (;;) {
    const g: InterfaceGroup = {};
    if (y & 0x1) g.ta = bytes[pos++]!;
    if (y & 0x2) g.tb = bytes[pos++]!;
    if (y & 0x4) g.tc = bytes[pos++]!;
    if (y & 0x8) g.td = bytes[pos++]!;
    groups.push(g);
    if (g.td === undefined) break;
    const t = g.td & 0x0f;
    if (t !== 0) tckPresent = true;
    if (t !== 15 && !protocols.includes(t)) protocols.push(t);
    y = g.td >> 4;
  }
  const historicalBytes = bytes.subarray(pos, pos + (t0 & 0x0f));
  const tck: TckState = tckPresent ? (xor(bytes.subarray(1)) === 0 ? 'valid' : 'invalid') : 'absent';
  if (protocols.length === 0) protocols.push(0);

  const ta1 = groups[0]!.ta;
  let fi = DEFAULT_FI;
  let di = DEFAULT_DI;
  let fmaxMHz = fmaxFromIndex(1)!;
  if (ta1 !== undefined) {
    const f = fiFromIndex(ta1 >> 4);
    const d = diFromIndex(ta1 & 0x0f);
    if (f === undefined || d === undefined) throw invalid(`TA1 ${hexByte(ta1)} names a reserved (RFU) Fi or Di`, bytes);
    fi = f;
    di = d;
    fmaxMHz = fmaxFromIndex(ta1 >> 4)!;
  }
  const ta2 = groups[1]?.ta;
  const specificMode = ta2 === undefined ? undefined : { protocol: ta2 & 0x0f, canChange: (ta2 & 0x80) === 0 };
  return {
    bytes: Buffer.from(bytes),
    convention,
    t0,
    groups,
    historicalBytes: Buffer.from(historicalBytes),
    tck,
    protocols,
    fi,
    di,
    fmaxMHz,
    extraGuardTime: groups[0]!.tc ?? 0,
    ...(specificMode ? { specificMode } : {}),
    t1: t1Parameters(groups, bytes),
  };
}

/** §11.4: the first TAi, TBi, TCi (i > 2) after a TDi-1 naming T=1. */
function t1Parameters(groups: readonly InterfaceGroup[], bytes: Buffer): T1AtrParameters {
  const out = { ...T1_DEFAULTS };
  let ta = false;
  let tb = false;
  let tc = false;
  for (let i = 2; i < groups.length; i++) {
    const previousTd = groups[i - 1]!.td;
    if (previousTd === undefined || (previousTd & 0x0f) !== 1) continue;
    const g = groups[i]!;
    if (!ta && g.ta !== undefined) {
      if (g.ta === 0x00 || g.ta === 0xff) throw invalid(`IFSC ${hexByte(g.ta)} is reserved (1..254 allowed)`, bytes);
      out.ifsc = g.ta;
      ta = true;
    }
    if (!tb && g.tb !== undefined) {
      out.bwi = g.tb >> 4;
      out.cwi = g.tb & 0x0f;
      tb = true;
    }
    if (!tc && g.tc !== undefined) {
      out.edc = g.tc & 0x01 ? 'crc' : 'lrc';
      tc = true;
    }
  }
  return out;
}

function xor(bytes: Uint8Array): number {
  let x = 0;
  for (const b of bytes) x ^= b;
  return x;
}

function popcount(n: number): number {
  let c = 0;
  for (let v = n; v; v >>= 1) c += v & 1;
  return c;
}

export function hexByte(b: number): string {
  return b.toString(16).padStart(2, '0').toUpperCase();
}
