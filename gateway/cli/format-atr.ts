/**
 * Output of `homegate card atr`: an ATR explained for people (in the manner of
 * pcsc-tools' ATR_analysis) or as one stable JSON object per line.
 */
import { hexByte, type Atr } from '../../card-io/atr/atr.js';

/** The JSON line of a parsed ATR: exactly these fields, in this order. */
export function atrJson(atr: Atr): Record<string, unknown> {
  return {
    atr: atr.bytes.toString('hex').toUpperCase(),
    convention: atr.convention,
    protocols: atr.protocols.map((p) => `T=${p}`),
    fi: atr.fi,
    di: atr.di,
    ifsc: atr.t1.ifsc,
    bwi: atr.t1.bwi,
    cwi: atr.t1.cwi,
    edc: atr.t1.edc,
    historicalBytes: atr.historicalBytes.toString('hex').toUpperCase(),
    tck: atr.tck,
  };
}

function spaced(bytes: Buffer): string {
  return [...bytes].map(hexByte).join(' ');
}

/** Human-readable: the bytes, then each interface byte with its meaning (ISO/IEC 7816-3 §8.2.3). */
export function formatAtr(atr: Atr): string {
  const lines = [`ATR: ${spaced(atr.bytes)}`];
  lines.push(`  TS = ${hexByte(atr.bytes[0]!)} --> ${atr.convention} convention`);
  lines.push(`  T0 = ${hexByte(atr.t0)}, ${atr.historicalBytes.length} historical bytes`);
  atr.groups.forEach((g, index) => {
    const i = index + 1;
    const previousT = index === 0 ? undefined : atr.groups[index - 1]!.td! & 0x0f;
    if (g.ta !== undefined) lines.push(`  TA${i} = ${hexByte(g.ta)} --> ${meaningOfTa(i, g.ta, previousT, atr)}`);
    if (g.tb !== undefined) lines.push(`  TB${i} = ${hexByte(g.tb)} --> ${meaningOfTb(i, g.tb, previousT)}`);
    if (g.tc !== undefined) lines.push(`  TC${i} = ${hexByte(g.tc)} --> ${meaningOfTc(i, g.tc, previousT)}`);
    if (g.td !== undefined) lines.push(`  TD${i} = ${hexByte(g.td)} --> protocol T=${g.td & 0x0f}`);
  });
  lines.push(`  historical bytes: ${spaced(atr.historicalBytes) || '(none)'}`);
  lines.push(`  TCK: ${atr.tck}`);
  lines.push(`  protocols: ${atr.protocols.map((p) => `T=${p}`).join(', ')}; Fi=${atr.fi} Di=${atr.di} (f max ${atr.fmaxMHz} MHz)`);
  if (atr.protocols.includes(1)) {
    const t1 = atr.t1;
    lines.push(`  T=1: IFSC ${t1.ifsc}, BWI ${t1.bwi}, CWI ${t1.cwi}, EDC ${t1.edc.toUpperCase()}`);
  }
  return `${lines.join('\n')}\n`;
}

function meaningOfTa(i: number, v: number, previousT: number | undefined, atr: Atr): string {
  if (i === 1) return `Fi=${atr.fi}, Di=${atr.di}`;
  if (i === 2) return `specific mode, protocol T=${v & 0x0f}${v & 0x80 ? ', not changeable' : ', changeable'}`;
  if (previousT === 1) return `IFSC ${v}`;
  if (previousT === 15) return `clock stop ${v >> 6}, class ${v & 0x3f}`;
  return `for T=${previousT}`;
}

function meaningOfTb(i: number, v: number, previousT: number | undefined): string {
  if (i <= 2) return 'VPP (deprecated)';
  if (previousT === 1) return `BWI ${v >> 4}, CWI ${v & 0x0f}`;
  return `for T=${previousT}`;
}

function meaningOfTc(i: number, v: number, previousT: number | undefined): string {
  if (i === 1) return `extra guard time ${v}`;
  if (i === 2) return `waiting time integer WI ${v} (T=0)`;
  if (previousT === 1) return `EDC ${v & 1 ? 'CRC' : 'LRC'}`;
  return `for T=${previousT}`;
}
