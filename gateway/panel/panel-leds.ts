/**
 * The panel's three LEDs, following the gateway's event bus:
 *
 *   ready      on while a card is activated and usable (off when removed, refused or a PIN is blocked)
 *   busy       blinks while the card works; blinks fast while a confirmation is awaited
 *   attention  on while a PIN is blocked, a foreign card is in, the outbox is backed up,
 *              or for a while after a reported problem; blinks while the gateway identifies
 *              itself (the dashboard's `identify`)
 *
 * What the LEDs show is a function of that state (`ledStates`), so it is
 * tested without hardware; each change is emitted as a `leds` event.
 */
import type { GatewayEvents, LedState } from '../events/gateway-events.js';

export interface LedInputs {
  cardReady: boolean;
  cardBusy: boolean;
  confirmationPending: boolean;
  pinBlocked: boolean;
  cardRefused: boolean;
  outboxBacklog: boolean;
  problemUntil: number;
  /** Until when the attention LED blinks for `identify` (unix ms). */
  identifyUntil: number;
}

export type LedStates = { ready: LedState; busy: LedState; attention: LedState };

export function ledStates(s: LedInputs, now: number): LedStates {
  const attention = s.pinBlocked || s.cardRefused || s.outboxBacklog || now < s.problemUntil;
  return {
    ready: s.cardReady && !s.pinBlocked && !s.cardRefused ? 'on' : 'off',
    busy: s.confirmationPending ? 'blink-fast' : s.cardBusy ? 'blink' : 'off',
    attention: now < s.identifyUntil ? 'blink' : attention ? 'on' : 'off',
  };
}

/** What drives one physical LED (a johnny-five Led in the panel). */
export interface LedOutput {
  show(state: LedState): void;
}

export interface PanelLedsOptions {
  events: GatewayEvents;
  leds: { ready: LedOutput; busy: LedOutput; attention: LedOutput };
  /** Outbox depth from which the attention LED lights. */
  outboxBacklog: number;
  /** How long a problem keeps the attention LED lit, in ms. */
  problemHoldMs: number;
  /** Whether a usable card is in at start (before any card event). */
  cardReady?: boolean;
  clock?: () => number;
}

export class PanelLeds {
  private readonly s: LedInputs;
  private shown: LedStates | undefined;
  private readonly offs: Array<() => void> = [];
  private problemTimer: NodeJS.Timeout | undefined;
  private identifyTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly o: PanelLedsOptions) {
    this.now = o.clock ?? Date.now;
    this.s = {
      cardReady: o.cardReady ?? false,
      cardBusy: false,
      confirmationPending: false,
      pinBlocked: false,
      cardRefused: false,
      outboxBacklog: false,
      problemUntil: 0,
      identifyUntil: 0,
    };
    const e = o.events;
    this.offs.push(
      e.on('card-activated', () => this.set({ cardReady: true, cardRefused: false })),
      e.on('card-removed', () => this.set({ cardReady: false, cardBusy: false, cardRefused: false, pinBlocked: false })),
      e.on('card-refused', () => this.set({ cardReady: false, cardRefused: true })),
      e.on('card-busy', (p) => this.set({ cardBusy: p.busy })),
      e.on('pin-blocked', () => this.set({ pinBlocked: true })),
      // A PIN set again with the PUK reports its tries: no longer blocked.
      e.on('pin-tries', (p) => (p.triesLeft > 0 && this.s.pinBlocked ? this.set({ pinBlocked: false }) : undefined)),
      e.on('outbox', (p) => this.set({ outboxBacklog: p.depth >= o.outboxBacklog })),
      e.on('confirmation', (p) => this.set({ confirmationPending: p.pending })),
      e.on('problem', () => this.problem()),
      e.on('identify', (p) => this.identify(p.seconds)),
    );
    this.render();
  }

  get states(): LedStates {
    return ledStates(this.s, this.now());
  }

  private problem(): void {
    this.set({ problemUntil: this.now() + this.o.problemHoldMs });
    clearTimeout(this.problemTimer);
    this.problemTimer = setTimeout(() => this.render(), this.o.problemHoldMs);
    this.problemTimer.unref();
  }

  /** A person looks for this gateway among others: blink the attention LED for `seconds` (at most a minute). */
  private identify(seconds: number): void {
    const ms = Math.max(0, Math.min(60, seconds)) * 1000;
    this.set({ identifyUntil: this.now() + ms });
    clearTimeout(this.identifyTimer);
    this.identifyTimer = setTimeout(() => this.render(), ms);
    this.identifyTimer.unref();
  }

  private set(change: Partial<LedInputs>): void {
    Object.assign(this.s, change);
    this.render();
  }

  private render(): void {
    const next = this.states;
    const prev = this.shown;
    if (prev && prev.ready === next.ready && prev.busy === next.busy && prev.attention === next.attention) return;
    for (const name of ['ready', 'busy', 'attention'] as const) {
      if (prev?.[name] !== next[name]) this.o.leds[name].show(next[name]);
    }
    this.shown = next;
    this.o.events.emit('leds', next);
  }

  close(): void {
    clearTimeout(this.problemTimer);
    clearTimeout(this.identifyTimer);
    for (const off of this.offs) off();
  }
}
