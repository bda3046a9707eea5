/**
 * Tells the event bus how many tries each PIN has left, for the dashboard,
 * without spending card commands or tries to learn it: a wrong try's answer
 * says how many are left (ISO 7816-4 §11.5.6, SW 63Cx); a right try restores
 * the counter, which is then read back (DF03, costs no try) only when a
 * wrong try was seen since, as it is after the admin's unblock or change.
 * The gateway never presents a PIN to learn its counter.
 */
import type { HomeCard } from '../../card-io/home-card/home-card.js';
import type { GatewayEvents } from '../events/gateway-events.js';
import type { ThrottledPin } from './pin-throttle.js';

export class PinTriesAnnouncer {
  /** PINs with a wrong try since their counter was last read back. */
  readonly #triedWrong = new Set<ThrottledPin>();

  constructor(private readonly events: GatewayEvents | undefined) {}

  /** A wrong try (or one on a blocked PIN: `triesLeft` 0). */
  wrong(pin: ThrottledPin, triesLeft: number): void {
    if (!this.events) return;
    this.#triedWrong.add(pin);
    const ref = pin === 'PIN1' ? 1 : 2;
    this.events.emit('pin-tries', { pin: ref, triesLeft });
    if (triesLeft === 0) this.events.emit('pin-blocked', { pin: ref });
  }

  /** A right try of `pin` (the card is still held): its counter is full again. */
  right(card: HomeCard, pin: ThrottledPin): Promise<void> {
    return this.#triedWrong.has(pin) ? this.readBack(card, [pin]) : Promise.resolve();
  }

  /** After an admin operation that may have restored counters (unblock, change). */
  afterAdmin(card: HomeCard): Promise<void> {
    return this.#triedWrong.size > 0 ? this.readBack(card, [...this.#triedWrong]) : Promise.resolve();
  }

  private async readBack(card: HomeCard, pins: ThrottledPin[]): Promise<void> {
    if (!this.events) return;
    const counters = await card.retryCounters().catch(() => undefined);
    for (const pin of pins) {
      const left = counters?.[pin === 'PIN1' ? 'pin1' : 'pin2'].left;
      if (left === undefined) continue;
      this.#triedWrong.delete(pin);
      this.events.emit('pin-tries', { pin: pin === 'PIN1' ? 1 : 2, triesLeft: left });
    }
  }
}
