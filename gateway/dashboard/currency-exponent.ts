/**
 * ISO 4217 minor-unit exponents: how many decimal digits a currency's minor
 * unit has (EUR 2: cents; JPY 0; KWD 3). The purse counts minor units; the
 * dashboard shows major ones.
 *
 * A table rather than `Intl.NumberFormat(…).resolvedOptions()`: asking ICU
 * touches about 4 MiB of the node executable's ICU data, which then stays
 * resident for the gateway's life (docs/PERFORMANCE.md, "Memory"), and ICU's
 * CLDR digits differ from ISO 4217 for a few currencies anyway.
 */
const EXPONENTS: Readonly<Record<string, number>> = {
  // 0 digits
  BIF: 0,
  CLP: 0,
  DJF: 0,
  GNF: 0,
  ISK: 0,
  JPY: 0,
  KMF: 0,
  KRW: 0,
  PYG: 0,
  RWF: 0,
  UGX: 0,
  UYI: 0,
  VND: 0,
  VUV: 0,
  XAF: 0,
  XOF: 0,
  XPF: 0,
  // 3 digits
  BHD: 3,
  IQD: 3,
  JOD: 3,
  KWD: 3,
  LYD: 3,
  OMR: 3,
  TND: 3,
  // 4 digits
  CLF: 4,
  UYW: 4,
};

/** The ISO 4217 exponent of `currency` (three letters); 2, as for most currencies, for any other code. */
export function currencyExponent(currency: string): number {
  const code = currency.toUpperCase();
  return Object.hasOwn(EXPONENTS, code) ? EXPONENTS[code]! : 2;
}
