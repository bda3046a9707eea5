/**
 * The gateway's event bus: what happened, in one typed place. Services emit;
 * the MQTT state and events topics, the panel's LEDs and the status endpoint
 * listen. Listeners must not throw and must not block: they run synchronously
 * inside the emitter, so a slow listener queues its own work.
 *
 * No secret ever travels here (no PIN, key, session, JWS): payloads are what a
 * dashboard may show.
 */
import { Listeners } from '../../card-io/link/listeners.js';

export type PinReference = 1 | 2;

export interface GatewayEventMap {
  /** The detect switch says a card is in (debounced); activation follows. */
  'card-inserted': { at: number };
  /** The card was pulled or stopped answering for good. */
  'card-removed': { at: number; reason: 'pulled' | 'not-answering' | 'line-down' };
  /** ATR read, card selected, identity read: usable. */
  'card-activated': { at: number; cardId: string; atr?: string; protocol?: string; ifsc?: number };
  /** A card of another household (other card id): not touched. */
  'card-refused': { at: number; cardId?: string; reason: string };
  /** PIN tries left after a verify (right or wrong). */
  'pin-tries': { pin: PinReference; triesLeft: number };
  'pin-blocked': { pin: PinReference };
  'terminal-unlocked': { terminal: string };
  'terminal-locked': { terminal: string; reason: 'request' | 'idle' | 'card-reset' | 'lock-card' | 'revoked' };
  'terminal-enrolled': { terminal: string };
  'terminal-revoked': { terminal: string };
  /** A payment decision was recorded (approved or declined by the card/gateway). */
  decision: { terminal: string; market: string; orderId: string; amount: number; currency: string; status: string; at: number; balance?: number };
  cancel: { terminal: string; market: string; orderId: string; amount: number; currency: string; at: number };
  topup: { terminal: string; amount: number; currency: string; status: string; at: number; balance?: number };
  /** The mail outbox changed. */
  outbox: { depth: number; oldestPendingAt?: number };
  /** A confirmation on the panel is awaited (pending: true) or was settled. */
  confirmation: { pending: boolean; kind?: 'pay' | 'topup'; amount?: number; currency?: string; outcome?: 'confirmed' | 'timeout' | 'cancelled' };
  /** The panel's LEDs as now shown. */
  leds: { ready: LedState; busy: LedState; attention: LedState };
  /** The card is working (an APDU exchange started or ended). */
  'card-busy': { busy: boolean };
  /** Someone asked the gateway to show itself (dashboard `identify`): the panel blinks its attention LED for `seconds`. */
  identify: { seconds: number };
  /** Something a person should look at (shown on the attention LED and as an event). */
  problem: { code: string; message: string };
}

export type LedState = 'off' | 'on' | 'blink' | 'blink-fast';

export type GatewayEventName = keyof GatewayEventMap;

export class GatewayEvents {
  private readonly lists = new Map<GatewayEventName, Listeners<unknown>>();
  private readonly any = new Listeners<{ name: GatewayEventName; payload: unknown }>();

  on<K extends GatewayEventName>(name: K, listener: (payload: GatewayEventMap[K]) => void): () => void {
    let l = this.lists.get(name);
    if (!l) {
      l = new Listeners<unknown>();
      this.lists.set(name, l);
    }
    return l.add(listener as (v: unknown) => void);
  }

  /** Every event, in order (the MQTT `events` topic). */
  onAny(listener: (e: { name: GatewayEventName; payload: unknown }) => void): () => void {
    return this.any.add(listener);
  }

  emit<K extends GatewayEventName>(name: K, payload: GatewayEventMap[K]): void {
    this.lists.get(name)?.emit(payload);
    this.any.emit({ name, payload });
  }
}
