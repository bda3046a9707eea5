/**
 * The sandbox market's catalogue: a few items, prices in minor units (cents)
 * of EUR, so nobody ever sums floating-point money. The nginx market serves
 * the same list (the config renderer embeds it).
 */
export interface CatalogueItem {
  readonly id: string;
  readonly name: string;
  /** Price in minor units of `currency` (EUR: cents). */
  readonly price: number;
  /** ISO 4217 code. */
  readonly currency: 'EUR';
}

export interface Catalogue {
  readonly market: string;
  readonly items: readonly CatalogueItem[];
}

export const SANDBOX_CATALOGUE: Catalogue = Object.freeze({
  market: 'homegate sandbox market',
  items: Object.freeze([
    Object.freeze({ id: 'coffee-250g', name: 'Coffee beans, 250 g', price: 790, currency: 'EUR' as const }),
    Object.freeze({ id: 'tea-100g', name: 'Green tea, 100 g', price: 450, currency: 'EUR' as const }),
    Object.freeze({ id: 'mug', name: 'Enamel mug', price: 1250, currency: 'EUR' as const }),
  ]),
});
