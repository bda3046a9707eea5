/**
 * The `events` topic: one JSON message per thing that happened, not
 * retained (an event is news, not state: a dashboard that connects later
 * must not replay yesterday's payment), QoS 1.
 *
 *   { "event": "decision", "at": "2026-11-25T16:00:00.000Z", ...fields }
 *
 * Which bus events are published is the list below; the rest (LED changes,
 * card-busy, PIN tries, outbox depth) only move `state`. The balance is left
 * out unless the household opted in.
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
