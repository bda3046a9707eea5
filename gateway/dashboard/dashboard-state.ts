/**
 * The gateway's state as a dashboard shows it (the retained `state` topic,
 * docs/MQTT.md), folded from the event bus: every event of
 * gateway/events/gateway-events.ts that changes something a person sees
 * updates one field. No secret is ever in it (the bus carries none).
 *
 * The card state is one enum Home Assistant can show:
 *   absent    no card (or its line is down)
 *   present   inserted, not yet activated (ATR, identity)
 *   refused   a card of another household
 *   locked    activated; no terminal has a card session (PIN1)
 *   unlocked  activated; at least one terminal's session is open
 *   blocked   activated; PIN1 is blocked (PUK needed)
 */
import { currencyExponent } from './currency-exponent.js';
import type { GatewayEventMap, GatewayEventName, LedState } from '../events/gateway-events.js';

export const CARD_STATES = ['absent', 'present', 'refused', 'locked', 'unlocked', 'blocked'] as const;
export type CardState = (typeof CARD_STATES)[number];

export interface DecisionSummary {
  market: string;
  /** In the currency's major units (10.5 = 10.50 EUR). */
  amount: number;
  currency: string;
  status: string;
  time: string;
}

/** The JSON published on `state`. */
export interface DashboardStateJson {
  card: {
    state: CardState;
    present: boolean;
    activated: boolean;
    id: string | null;
    pin1TriesLeft: number | null;
    pin2TriesLeft: number | null;
  };
  terminals: { enrolled: number; unlocked: string[] };
  outbox: { depth: number; oldestPendingAt: string | null; oldestPendingAgeSeconds: number | null };
  lastDecision: DecisionSummary | null;
  confirmation: { pending: boolean; kind: string | null; amount: number | null; currency: string | null };
  leds: { ready: LedState; busy: LedState; attention: LedState } | null;
  /** Only when the household opted in (`mqtt.publishBalance`). */
  balance?: { amount: number; currency: string } | null;
}

/** Minor units → major units by the currency's ISO 4217 exponent (EUR 2, JPY 0). */
export function majorUnits(minor: number, currency: string): number {
  return minor / 10 ** currencyExponent(currency);
}

export class DashboardState {
  #present = false;
  #activated = false;
  #refused = false;
  #cardId: string | undefined;
  readonly #tries: { 1: number | undefined; 2: number | undefined } = { 1: undefined, 2: undefined };
  #enrolled = 0;
  readonly #unlocked = new Set<string>();
  #outbox: { depth: number; oldestPendingAt?: number } = { depth: 0 };
  #lastDecision: DecisionSummary | undefined;
  #confirmation: GatewayEventMap['confirmation'] = { pending: false };
  #leds: GatewayEventMap['leds'] | undefined;
  #balance: { amount: number; currency: string } | undefined;

  constructor(private readonly clock: () => number = Date.now) {}

  /** Sets what is known at start (card line, registry, outbox) without events. */
  seed(s: { present?: boolean; cardId?: string; enrolled?: number; unlocked?: string[]; outbox?: { depth: number; oldestPendingAt?: number } }): void {
    if (s.present !== undefined) this.#present = this.#activated = s.present;
    if (s.cardId !== undefined) this.#cardId = s.cardId;
    if (s.enrolled !== undefined) this.#enrolled = s.enrolled;
    for (const t of s.unlocked ?? []) this.#unlocked.add(t);
    if (s.outbox) this.#outbox = s.outbox;
  }

  /** The purse as read from the card (balance in minor units); true when something shown changed. */
  purse(balance: number, currency: string): boolean {
    const before = this.#fingerprint();
    this.#balance = { amount: majorUnits(balance, currency), currency };
    return this.#fingerprint() !== before;
  }

  /** Folds one event in; true when something shown changed. */
  apply<K extends GatewayEventName>(name: K, payload: GatewayEventMap[K]): boolean {
    const before = this.#fingerprint();
    this.#apply(name, payload as GatewayEventMap[GatewayEventName]);
    return this.#fingerprint() !== before;
  }

  #apply(name: GatewayEventName, p: GatewayEventMap[GatewayEventName]): void {
    switch (name) {
      case 'card-inserted':
        this.#present = true;
        this.#refused = false;
        return;
      case 'card-removed':
        this.#present = this.#activated = this.#refused = false;
        this.#cardId = undefined;
        // Terminal sessions are the gateway's, not the card's: they survive a line blip (CardSessions
        // presents PIN1 again) and end with their own terminal-locked event.
        return;
      case 'card-activated': {
        const e = p as GatewayEventMap['card-activated'];
        if (e.cardId !== this.#cardId) this.#tries[1] = this.#tries[2] = undefined;
        this.#present = this.#activated = true;
        this.#refused = false;
        this.#cardId = e.cardId;
        return;
      }
      case 'card-refused':
        this.#present = this.#refused = true;
        this.#activated = false;
        return;
      case 'pin-tries': {
        const e = p as GatewayEventMap['pin-tries'];
        this.#tries[e.pin] = e.triesLeft;
        return;
      }
      case 'pin-blocked':
        this.#tries[(p as GatewayEventMap['pin-blocked']).pin] = 0;
        return;
      case 'terminal-unlocked':
        this.#unlocked.add((p as GatewayEventMap['terminal-unlocked']).terminal);
        return;
      case 'terminal-locked':
        this.#unlocked.delete((p as GatewayEventMap['terminal-locked']).terminal);
        return;
      case 'terminal-enrolled':
        this.#enrolled += 1;
        return;
      case 'terminal-revoked':
        this.#enrolled = Math.max(0, this.#enrolled - 1);
        this.#unlocked.delete((p as GatewayEventMap['terminal-revoked']).terminal);
        return;
      case 'decision': {
        const e = p as GatewayEventMap['decision'];
        const amount = majorUnits(e.amount, e.currency);
        this.#lastDecision = { market: e.market, amount, currency: e.currency, status: e.status, time: new Date(e.at).toISOString() };
        if (e.balance !== undefined) this.#balance = { amount: majorUnits(e.balance, e.currency), currency: e.currency };
        return;
      }
      case 'topup': {
        const e = p as GatewayEventMap['topup'];
        if (e.balance !== undefined) this.#balance = { amount: majorUnits(e.balance, e.currency), currency: e.currency };
        return;
      }
      case 'cancel': {
        const e = p as GatewayEventMap['cancel'];
        if (this.#balance && this.#balance.currency === e.currency)
          this.#balance = { ...this.#balance, amount: this.#balance.amount + majorUnits(e.amount, e.currency) };
        return;
      }
      case 'outbox':
        this.#outbox = p as GatewayEventMap['outbox'];
        return;
      case 'confirmation':
        this.#confirmation = p as GatewayEventMap['confirmation'];
        return;
      case 'leds':
        this.#leds = p as GatewayEventMap['leds'];
        return;
      default:
        return; // card-busy, identify, problem: events only
    }
  }

  cardState(): CardState {
    if (!this.#present) return 'absent';
    if (this.#refused) return 'refused';
    if (!this.#activated) return 'present';
    if (this.#tries[1] === 0) return 'blocked';
    return this.#unlocked.size > 0 ? 'unlocked' : 'locked';
  }

  /** The `state` JSON; the balance only with `withBalance`. */
  toJson(withBalance: boolean): DashboardStateJson {
    const oldest = this.#outbox.oldestPendingAt;
    const c = this.#confirmation;
    const json: DashboardStateJson = {
      card: {
        state: this.cardState(),
        present: this.#present,
        activated: this.#activated,
        id: this.#cardId ?? null,
        pin1TriesLeft: this.#tries[1] ?? null,
        pin2TriesLeft: this.#tries[2] ?? null,
      },
      terminals: { enrolled: this.#enrolled, unlocked: [...this.#unlocked].sort() },
      outbox: {
        depth: this.#outbox.depth,
        oldestPendingAt: oldest === undefined ? null : new Date(oldest).toISOString(),
        oldestPendingAgeSeconds: oldest === undefined ? null : Math.max(0, Math.round((this.clock() - oldest) / 1000)),
      },
      lastDecision: this.#lastDecision ?? null,
      confirmation: { pending: c.pending, kind: c.kind ?? null, amount: c.amount ?? null, currency: c.currency ?? null },
      leds: this.#leds ?? null,
    };
    if (withBalance) json.balance = this.#balance ?? null;
    return json;
  }

  /** Everything shown except the clock-derived age: equal fingerprints, nothing to publish. */
  #fingerprint(): string {
    const j = this.toJson(true);
    j.outbox.oldestPendingAgeSeconds = null;
    return JSON.stringify(j);
  }
}
