/**
 * Which months hold a decision for a market and order: a payment asks whether
 * its order was decided before (EmoneyManager.pay, for the earlier answer),
 * and must not read the whole archive for it (at 100 000 entries that was
 * about 1.4 s per payment). Built while HistoryStore.open reads every month
 * anyway and kept as entries are archived.
 *
 * Keyed by a 32-bit FNV-1a hash of the market's lower-case DNS name and the
 * order id, not the strings, so it stays small (tens of bytes per decision);
 * a hash names candidate months, and the store confirms the match in them.
 */
import type { HistoryEntry } from './history-entry.js';

/** FNV-1a (32 bits) of the market's lower-case DNS name and the order id. */
function orderHash(market: string, orderId: string): number {
  let h = 0x811c9dc5;
  const text = `${market.toLowerCase()}\0${orderId}`;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export class OrderIndex {
  readonly #months = new Map<number, string[]>();

  /** Notes `entry` (archived in `month`) when it is a decision. */
  note(month: string, entry: HistoryEntry): void {
    if (entry.kind !== 'decision' || entry.market === undefined || entry.orderId === undefined) return;
    const hash = orderHash(entry.market, entry.orderId);
    const months = this.#months.get(hash);
    if (!months) this.#months.set(hash, [month]);
    else if (!months.includes(month)) months.push(month);
  }

  /** The months that may hold a decision for this market (DNS name, any case) and order. */
  monthsOf(market: string, orderId: string): readonly string[] {
    return this.#months.get(orderHash(market, orderId)) ?? [];
  }
}
