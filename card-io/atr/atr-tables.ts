/**
 * The transmission-factor tables of ISO/IEC 7816-3:2006 §8.3 (Table 7: Fi and
 * f(max) from FI; Table 8: Di from DI). TA1 carries FI in its high nibble and
 * DI in its low one. RFU entries are undefined: an ATR naming one is parsed,
 * and the interface device keeps the default speed (Fd = 372, Dd = 1).
 */

/** Default clock rate conversion factor Fd and baud rate adjustment factor Dd (§8.1). */
export const DEFAULT_FI = 372;
export const DEFAULT_DI = 1;

/** Table 7: Fi by FI (index 0..15); undefined = RFU. */
const FI_TABLE: readonly (number | undefined)[] = [
  372,
  372,
  558,
  744,
  1116,
  1488,
  1860,
  undefined,
  undefined,
  512,
  768,
  1024,
  1536,
  2048,
  undefined,
  undefined,
];

/** Table 7: f(max) in MHz by FI; undefined = RFU. */
const FMAX_TABLE: readonly (number | undefined)[] = [4, 5, 6, 8, 12, 16, 20, undefined, undefined, 5, 7.5, 10, 15, 20, undefined, undefined];

/** Table 8: Di by DI (index 0..15); undefined = RFU. */
const DI_TABLE: readonly (number | undefined)[] = [undefined, 1, 2, 4, 8, 16, 32, 64, 12, 20, undefined, undefined, undefined, undefined, undefined, undefined];

export function fiFromIndex(index: number): number | undefined {
  return FI_TABLE[index & 0x0f];
}

export function fmaxFromIndex(index: number): number | undefined {
  return FMAX_TABLE[index & 0x0f];
}

export function diFromIndex(index: number): number | undefined {
  return DI_TABLE[index & 0x0f];
}

/** The table index of a Fi value (the first one, FI 1 for 372), or undefined when Fi is not in Table 7. */
export function fiIndexOf(fi: number): number | undefined {
  const i = FI_TABLE.indexOf(fi, 1);
  return i < 0 ? undefined : i;
}

/** The table index of a Di value, or undefined when Di is not in Table 8. */
export function diIndexOf(di: number): number | undefined {
  const i = DI_TABLE.indexOf(di);
  return i < 0 ? undefined : i;
}

/**
 * The line speed after a PPS selecting Fi/Di, from the speed at the defaults
 * (§7.1: one etu = F / (D × f) seconds, so baud = D × f / F): the clock f
 * stays, the speed scales by (Di / Fi) / (Dd / Fd).
 */
export function baudRateFor(defaultBaudRate: number, fi: number, di: number): number {
  return Math.round((defaultBaudRate * di * DEFAULT_FI) / (fi * DEFAULT_DI));
}
