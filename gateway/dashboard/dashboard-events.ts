/**
 * The `events` topic: one JSON message per thing that happened, not
 * retained (an event is news, not state: a dashboard that connects later
 * must not replay yesterday's payment), QoS 1.
 *
 *   { "event": "decision", "at": "2026-11-25T16:00:00.000Z", ...fields }
 *
 * Which bus events are published is the list below; the rest (LED changes,
 * card-busy, PIN tries, outbox depth) only move `state`. The balance is left
 * out unless the household opted in. Bursts of card and terminal events are
 * bounded (EventLimiter, below); the state follows every event regardless.
 */
import type { GatewayEventName } from '../events/gateway-events.js';

export const PUBLISHED_EVENTS: ReadonlySet<GatewayEventName> = new Set<GatewayEventName>([
  'decision',
  'cancel',
  'topup',
  'card-inserted',
  'card-removed',
  'card-activated',
  'card-refused',
  'terminal-unlocked',
  'terminal-locked',
  'terminal-enrolled',
  'terminal-revoked',
  'pin-blocked',
  'identify',
  'problem',
]);

/** The payload of one event on the `events` topic, or undefined when the event is not published. */
export function eventMessage(name: GatewayEventName, payload: unknown, now: number, withBalance: boolean): string | undefined {
  if (!PUBLISHED_EVENTS.has(name)) return undefined;
  const fields = { ...(payload as Record<string, unknown>) };
  if (!withBalance) delete fields.balance;
  const at = typeof fields.at === 'number' ? fields.at : now;
  delete fields.at;
  return JSON.stringify({ event: name, at: new Date(at).toISOString(), ...fields });
}

/** Money events are never dropped; these may come in bursts from a flapping input. */
const LIMITED_PREFIXES = ['card-', 'terminal-', 'problem'];
/** At most this many messages per event name per second on `events` for the bursty ones. */
export const EVENTS_PER_SECOND = 10;

/**
 * Bounds the bursty events (a card line flapping a thousand times a second
 * must not become a thousand messages a second): per event name, at most
 * EVENTS_PER_SECOND in each second; the rest are dropped and counted (the
 * state still follows every one of them). Payments, cancels and top-ups are
 * never dropped.
 */
export class EventLimiter {
  #windowStart = 0;
  readonly #counts = new Map<GatewayEventName, number>();
  dropped = 0;

  constructor(private readonly clock: () => number = Date.now) {}

  allow(name: GatewayEventName): boolean {
    if (!LIMITED_PREFIXES.some((p) => name.startsWith(p))) return true;
    const now = this.clock();
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#counts.clear();
    }
    const n = (this.#counts.get(name) ?? 0) + 1;
    this.#counts.set(name, n);
    if (n <= EVENTS_PER_SECOND) return true;
    this.dropped += 1;
    return false;
  }
}
