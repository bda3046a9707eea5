/**
 * The home card in a socket, over its lifetime in the gateway:
 *
 *  - insertion (debounced detect edge): activation (reset, ATR, PPS, T=1 from
 *    the ATR), the card's identity read, and the household check: a card
 *    whose id is not the household's is refused, deactivated and not used
 *    (the household's card id is recorded at the first activation);
 *  - removal: the exchange in progress ends at once (CardRemoved, with its
 *    outcome), the card is reported absent at once (well within 100 ms of
 *    the detect edge), then deactivated;
 *  - a card that stops answering after T=1 resynchronization: a warm reset,
 *    then a cold one, before it is reported absent (`recover`).
 *
 * Events go on the gateway's bus; card presence and the card itself are
 * handed to CardService through `host`.
 */
import { DEFAULT_DI, DEFAULT_FI } from '../../card-io/atr/atr-tables.js';
import type { Logger } from '../../card-io/base/log.js';
import { isCardError } from '../../card-io/errors.js';
import { activateHomeCard, type ActivatedHomeCard, type SocketCardOptions } from '../../card-io/home-card/connect-socket.js';
import type { CardInfo } from '../../card-io/home-card/home-card.js';
import type { CardSocket, ResetKind } from '../../card-io/socket/card-socket.js';
import type { GatewayEvents } from '../events/gateway-events.js';

/** Where the household's card id is kept (the registry's settings). */
export interface HouseholdCardId {
  get(): string | undefined;
  set(cardId: string): Promise<void>;
}

export interface SocketCardHost {
  /** Run `fn` when no command holds the card (the card service's mutex). */
  exclusively<T>(fn: () => Promise<T>): Promise<T>;
  /** An activated, accepted card is usable. */
  up(active: ActivatedHomeCard, info: CardInfo): void;
  /** No usable card any more. */
  down(reason: 'pulled' | 'not-answering' | 'line-down' | 'refused'): void;
}

/** Pause between two activations at start when the first failed, in ms. */
const RESTART_PAUSE_MS = 100;

export type SocketCardState = 'empty' | 'activating' | 'ready' | 'refused' | 'mute';

export interface SocketCardLifecycleOptions extends Omit<SocketCardOptions, 'logger'> {
  socket: CardSocket;
  host: SocketCardHost;
  household?: HouseholdCardId;
  events?: GatewayEvents;
  logger: Logger;
}

export class SocketCardLifecycle {
  private active: ActivatedHomeCard | undefined;
  private currentState: SocketCardState = 'empty';
  private refusedCardId: string | undefined;
  private readonly offPresence: () => void;
  private readonly offLine: () => void;

  constructor(private readonly o: SocketCardLifecycleOptions) {
    this.offPresence = o.socket.onPresence((c) => {
      if (c.present) {
        o.events?.emit('card-inserted', { at: c.edgeAt });
        void o.host.exclusively(() => this.activate('cold'));
      } else {
        this.pulled();
      }
    });
    // The card line itself (a USB adapter unplugged, ser2net restarted, a TCP peer refused): a card behind
    // a line that went down is gone for us; when the line is back and a card is in, it is activated afresh.
    this.offLine = o.socket.link.onStatus((status) => {
      if (status === 'disconnected' && this.active) {
        const active = this.active;
        this.active = undefined;
        this.currentState = 'empty';
        active.abort();
        o.host.down('line-down');
        o.events?.emit('card-removed', { at: Date.now(), reason: 'line-down' });
      }
      if (status === 'connected' && o.socket.present && (this.currentState === 'empty' || this.currentState === 'mute')) {
        void o.host.exclusively(async () => {
          if (this.currentState === 'empty' || this.currentState === 'mute') await this.activate('cold');
        });
      }
    });
  }

  get state(): SocketCardState {
    return this.currentState;
  }

  /** What the status endpoint shows about the socket and the card in it. */
  describe(): Record<string, unknown> {
    return {
      ...this.o.socket.describe(),
      state: this.currentState,
      ...(this.active ? { t1: { ifsc: this.active.t1.ifsc, edc: this.active.t1.edc, bwtMs: this.active.t1.bwtMs } } : {}),
      ...(this.refusedCardId ? { refusedCardId: this.refusedCardId } : {}),
    };
  }

  /**
   * The socket for the unauthenticated health endpoint: presence, state, the
   * ATR and the protocol parameters; no card id, no wiring.
   */
  summary(): Record<string, unknown> {
    const a = this.o.socket.activation;
    return {
      backend: this.o.socket.describe().backend,
      present: this.o.socket.present,
      state: this.currentState,
      activated: this.currentState === 'ready',
      // Why no card is usable though one is in: the words the terminal API uses (card-absent's reason).
      ...(this.currentState === 'refused' ? { reason: 'foreign-card' } : this.currentState === 'mute' ? { reason: 'card-mute' } : {}),
      ...(a && this.active
        ? {
            atr: a.atr.bytes.toString('hex').toUpperCase(),
            protocol: 'T=1',
            // The Fi/Di the line runs at: TA1's after an accepted PPS or in specific mode, else the defaults (§8.1).
            ...(a.pps.outcome === 'accepted' || a.pps.outcome === 'specific-mode' ? { fi: a.atr.fi, di: a.atr.di } : { fi: DEFAULT_FI, di: DEFAULT_DI }),
            ifsc: this.active.t1.ifsc,
            edc: this.active.t1.edc,
            bwi: a.atr.t1.bwi,
            cwi: a.atr.t1.cwi,
            pps: a.pps.outcome,
            ...(a.baudRate !== undefined ? { baudRate: a.baudRate } : {}),
          }
        : {}),
    };
  }

  /**
   * Activate the card already in the socket at start, if any. A line that
   * drops right after it opened (a card-side listener still serving the host
   * before us, ser2net restarting) is worth more tries within `startTimeoutMs`.
   */
  async start(startTimeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + startTimeoutMs;
    while (this.o.socket.present && !(await this.o.host.exclusively(() => this.activate('cold')))) {
      if (this.currentState !== 'mute' || Date.now() >= deadline) return;
      await new Promise((resolve) => setTimeout(resolve, RESTART_PAUSE_MS));
    }
  }

  async stop(): Promise<void> {
    this.offPresence();
    this.offLine();
    this.active?.close();
    this.active = undefined;
    await this.o.socket.deactivate().catch(() => undefined);
    await this.o.socket.close();
  }

  /**
   * The card stopped answering (T=1 gave up after resynchronizing): warm
   * reset, then cold, then it is absent. Call with the card service's mutex held.
   */
  async recover(): Promise<boolean> {
    for (const kind of ['warm', 'cold'] as const) {
      this.o.logger.warn({ kind }, 'the card does not answer; resetting it');
      if (await this.activate(kind)) return true;
    }
    this.o.events?.emit('card-removed', { at: Date.now(), reason: 'not-answering' });
    this.o.host.down('not-answering');
    return false;
  }

  /** Returns true when the card is ready. Call with the card service's mutex held. */
  private async activate(kind: ResetKind): Promise<boolean> {
    this.active?.close();
    this.active = undefined;
    this.refusedCardId = undefined;
    if (!this.o.socket.present) return false;
    this.currentState = 'activating';
    let active: ActivatedHomeCard | undefined;
    try {
      active = await activateHomeCard({ ...this.o, logger: this.o.logger }, kind);
      const info = await active.card.info();
      if (!this.o.socket.present) throw new Error('pulled during activation');
      if (!(await this.isHouseholdCard(info.cardId))) {
        active.close();
        await this.o.socket.deactivate();
        this.refusedCardId = info.cardId;
        this.currentState = 'refused';
        this.o.host.down('refused');
        return false;
      }
      this.active = active;
      this.currentState = 'ready';
      this.o.host.up(active, info);
      const { atr } = active.activation;
      this.o.events?.emit('card-activated', {
        at: Date.now(),
        cardId: info.cardId,
        atr: atr.bytes.toString('hex').toUpperCase(),
        protocol: 'T=1',
        ...(active.t1.ifsc !== undefined ? { ifsc: active.t1.ifsc } : {}),
      });
      return true;
    } catch (e) {
      active?.close();
      this.currentState = this.o.socket.present ? 'mute' : 'empty';
      this.o.logger.warn({ kind, err: isCardError(e) ? e.message : String(e) }, 'the card in the socket could not be activated');
      if (this.o.socket.present) this.o.events?.emit('problem', { code: 'card-mute', message: 'The card in the socket does not answer its reset' });
      return false;
    }
  }

  /** The household's card, recorded at the first activation; any other card is refused. */
  private async isHouseholdCard(cardId: string): Promise<boolean> {
    const household = this.o.household;
    if (!household) return true;
    const known = household.get();
    if (known === undefined) {
      await household.set(cardId);
      this.o.logger.info({ cardId }, "this card is now the household's card");
      return true;
    }
    if (known === cardId) return true;
    const reason = `This card (id ${cardId}) is not this household's home card (id ${known}); it is refused and not used`;
    this.o.logger.warn({ cardId, householdCardId: known }, reason);
    this.o.events?.emit('card-refused', { at: Date.now(), cardId, reason });
    return false;
  }

  /** Not under the mutex: the command holding it must end now, not when it is done. */
  private pulled(): void {
    const active = this.active;
    this.active = undefined;
    this.refusedCardId = undefined;
    this.currentState = 'empty';
    active?.abort();
    this.o.host.down('pulled');
    this.o.events?.emit('card-removed', { at: Date.now(), reason: 'pulled' });
    void this.o.host.exclusively(async () => {
      active?.close();
      await this.o.socket.deactivate().catch(() => undefined);
    });
  }
}
