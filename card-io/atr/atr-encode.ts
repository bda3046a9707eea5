/**
 * Building an ATR (ISO/IEC 7816-3:2006 §8.2): the emulator answers every reset
 * with one, and tests round-trip the parser through it. `encodeAtr` lays out
 * given interface groups exactly (T0 and every TDi's high nibble follow from
 * which bytes are present; TCK is computed when a protocol other than T=0 is
 * indicated); `t1CardAtr` is the ATR of a T=1 card such as the home card.
 */
import { convertInverse, TS_DIRECT, TS_INVERSE, type Convention } from './atr-convention.js';
import { diIndexOf, fiIndexOf } from './atr-tables.js';
import type { InterfaceGroup } from './atr.js';

export interface AtrLayout {
  convention?: Convention;
  /**
   * Interface groups 1…n. A group's `td` gives only the protocol (low nibble):
   * its high nibble is set from the next group's bytes. Every group but the
   * last needs a td; the last must have none.
   */
  groups: readonly InterfaceGroup[];
  historicalBytes?: Uint8Array;
  /** Replace the computed TCK (tests of a wrong check character). */
  tckOverride?: number;
}

function presence(g: InterfaceGroup | undefined): number {
  if (!g) return 0;
  return (g.ta !== undefined ? 1 : 0) | (g.tb !== undefined ? 2 : 0) | (g.tc !== undefined ? 4 : 0) | (g.td !== undefined ? 8 : 0);
}

/** The ATR's characters, decoded (TS 3B or 3F). */
export function encodeAtr(layout: AtrLayout): Buffer {
  const historical = Buffer.from(layout.historicalBytes ?? []);
  if (historical.length > 15) throw new RangeError('at most 15 historical bytes');
  const groups = layout.groups.length ? layout.groups : [{}];
  const out = [layout.convention === 'inverse' ? TS_INVERSE : TS_DIRECT, (presence(groups[0]) << 4) | historical.length];
  let tck = false;
  groups.forEach((g, i) => {
    if (g.ta !== undefined) out.push(g.ta);
    if (g.tb !== undefined) out.push(g.tb);
    if (g.tc !== undefined) out.push(g.tc);
    if (g.td !== undefined) {
      if ((g.td & 0x0f) !== 0) tck = true;
      out.push((presence(groups[i + 1]) << 4) | (g.td & 0x0f));
    }
  });
  out.push(...historical);
  if (tck) out.push(layout.tckOverride ?? out.slice(1).reduce((x, b) => x ^ b, 0));
  return Buffer.from(out);
}

/** The ATR's bytes as they go on a direct-convention UART (an inverse card's bytes converted). */
export function atrOnTheLine(atr: Buffer): Buffer {
  return atr[0] === TS_INVERSE ? convertInverse(atr) : atr;
}

export interface T1CardAtrOptions {
  convention?: Convention;
  /** Fi/Di the card offers in TA1 (for PPS); default 372/1, then TA1 is left out. */
  fi?: number;
  di?: number;
  ifsc: number;
  bwi?: number;
  cwi?: number;
  edc: 'lrc' | 'crc';
  historicalBytes?: Uint8Array;
}

/**
 * A T=1-only card's ATR: TA1 (when Fi/Di are not the defaults), TD1 = T=1,
 * TD2 = T=1 so that group 3 holds the T=1 bytes (§11.4): TA3 = IFSC,
 * TB3 = BWI/CWI, TC3 = EDC.
 */
export function t1CardAtr(o: T1CardAtrOptions): Buffer {
  const fi = o.fi ?? 372;
  const di = o.di ?? 1;
  const fiIndex = fiIndexOf(fi);
  const diIndex = diIndexOf(di);
  if (fiIndex === undefined || diIndex === undefined) throw new RangeError(`Fi ${fi} / Di ${di} are not in ISO/IEC 7816-3 Tables 7 and 8`);
  const ta1 = fi === 372 && di === 1 ? undefined : (fiIndex << 4) | diIndex;
  const groups: InterfaceGroup[] = [
    { ...(ta1 === undefined ? {} : { ta: ta1 }), td: 1 },
    { td: 1 },
    { ta: o.ifsc, tb: ((o.bwi ?? 4) << 4) | (o.cwi ?? 13), tc: o.edc === 'crc' ? 1 : 0 },
  ];
  return encodeAtr({ convention: o.convention, groups, historicalBytes: o.historicalBytes });
}
