/**
 * Terminal card sessions (claim 3). PIN1 opens the home card for ONE
 * terminal's session, which stays open until it is locked or idle for
 * `idleTimeoutMs`. The card itself has one security state, so whenever a
 * different terminal needs the card the gateway starts a fresh card session
 * (SELECT resets the card's security state, PROTOCOL.md) and presents that
 * terminal's PIN1 again: terminals are serialized on the card and never see
 * each other's security state.
 *
 * That is why the gateway keeps each open session's PIN1, in memory only, in
 * a buffer it zeroes when the session ends. A right VERIFY restores the
 * card's PIN1 counter (ISO 7816-4 §11.5.6, PROTOCOL.md), so re-presenting a
 * cached PIN1 after someone typed a wrong one would hand a guesser fresh
 * tries. Hence the rule: the gateway re-presents a cached PIN1 only while the
 * card's PIN1 counter is full (read from DF03, which costs no try). Any wrong
 * PIN1 try, from any terminal or the admin socket, drops every cached PIN1:
 * each terminal's person must unlock again, and only a person typing the
 * right PIN1 restores the counter. PIN2 is never kept.
 *
 * Every PIN try is logged (terminal, PIN name, outcome, never the PIN) and
 * slowed down per terminal by a PinThrottle.
 */
import { CardErrorCode, isCardError, type CardError } from '../../card-io/errors.js';
import type { HomeCard } from '../../card-io/home-card/home-card.js';
import type { Logger } from '../../card-io/base/log.js';
import { CardSessionError, isCardSessionError } from './card-session-error.js';
import type { CardService } from './card-service.js';
import { PinThrottle, type ThrottledPin } from './pin-throttle.js';
import { PinTriesAnnouncer } from './pin-tries-announcer.js';
import type { GatewayEvents, GatewayEventMap } from '../events/gateway-events.js';

type LockReason = GatewayEventMap['terminal-locked']['reason'];

interface OpenSession {
  pin1: Buffer;
  /** The card this PIN1 was verified on: never presented to another card (swapped on the line). */
  cardId: string | undefined;
  timer: NodeJS.Timeout;
}

export interface CardSessionsOptions {
  cards: CardService;
  logger: Logger;
  /** Idle time after which a terminal's card session closes, in ms. Default 600000 (10 min). */
  idleTimeoutMs?: number;
  /** Delays between one terminal's wrong PIN tries; default: a PinThrottle with its defaults. */
  throttle?: PinThrottle;
  /** Where sessions opening and closing and PIN tries are announced (never a PIN). */
  events?: GatewayEvents;
}

export interface CardLease {
  readonly card: HomeCard;
  release(): void;
}

export class CardSessions {
  private readonly sessions = new Map<string, OpenSession>();
  /** The terminal whose PIN1 state the card holds right now, if any. */
  private owner: string | undefined;
  readonly idleTimeoutMs: number;
  private readonly throttle: PinThrottle;
  private readonly tries: PinTriesAnnouncer;

  constructor(private readonly options: CardSessionsOptions) {
    this.idleTimeoutMs = options.idleTimeoutMs ?? 600_000;
    this.throttle = options.throttle ?? new PinThrottle();
    this.tries = new PinTriesAnnouncer(options.events);
    options.cards.onReset(() => (this.owner = undefined));
  }

  isOpen(terminalId: string): boolean {
    return this.sessions.has(terminalId);
  }

  /** Present PIN1 for this terminal; on success its card session is open. */
  async unlock(terminalId: string, pin1: string): Promise<void> {
    this.throttle.check(terminalId, 'PIN1');
    await this.options.cards.exclusive(async (card) => {
      this.owner = undefined;
      await card.select();
      await card.verifyPin1(pin1).catch((e: unknown) => {
        throw this.failedTry(terminalId, 'PIN1', e);
      });
      this.owner = terminalId;
      // Still holding the card: a wrong PIN1 typed elsewhere cannot come
      // between this right try and the session it opens (it would be missed by dropAll).
      await this.rightTry(terminalId, 'PIN1', card);
      this.close(terminalId);
      this.sessions.set(terminalId, { pin1: Buffer.from(pin1, 'utf8'), cardId: this.options.cards.cardId, timer: this.idleTimer(terminalId) });
    });
    this.options.logger.info({ terminal: terminalId }, 'card session opened');
    this.options.events?.emit('terminal-unlocked', { terminal: terminalId });
  }

  /**
   * Present a PIN2 typed at this terminal on a card it holds (from `lease`),
   * throttled and logged like PIN1. PIN2 releases one operation and is never kept.
   */
  async verifyPin2(terminalId: string, card: HomeCard, pin2: string): Promise<void> {
    this.throttle.check(terminalId, 'PIN2');
    await card.verifyPin2(pin2).catch((e: unknown) => {
      throw this.failedTry(terminalId, 'PIN2', e);
    });
    await this.rightTry(terminalId, 'PIN2', card);
  }

  /**
   * Run `fn` on the card in a fresh card session that no terminal's PIN1
   * state is in, and end it with a SELECT so nothing verified stays behind
   * (the admin socket's change-pin and unblock).
   */
  async withFreshCard<T>(fn: (card: HomeCard) => Promise<T>): Promise<T> {
    return this.options.cards.exclusive(async (card) => {
      this.owner = undefined;
      await card.select();
      try {
        const result = await fn(card);
        await this.tries.afterAdmin(card); // an unblock or change restored counters
        return result;
      } finally {
        await card.select().catch(() => undefined);
      }
    });
  }

  /** End every terminal's session and forget the PIN1s (PIN1 changed, or a wrong PIN1 was tried). */
  dropAll(reason: string): void {
    if (this.sessions.size === 0) return;
    this.options.logger.warn({ terminals: this.sessions.size, reason }, 'card sessions closed: terminals must unlock again with PIN1');
    this.closeAll('card-reset');
  }

  /**
   * A PIN try failed: log it (never the PIN), count it for the terminal's
   * delay, and after a wrong PIN1 drop every cached PIN1. Returns the error to throw.
   */
  failedTry(terminalId: string, pin: ThrottledPin | 'PUK', e: unknown): unknown {
    if (isCardError(e) && e.code === CardErrorCode.WrongPin) {
      const retryAfterMs = pin === 'PUK' ? 0 : this.throttle.failed(terminalId, pin);
      const triesLeft = e.context.triesLeft ?? 0;
      this.options.logger.warn({ terminal: terminalId, pin, triesLeft, retryAfterMs }, 'wrong PIN try');
      if (pin !== 'PUK') this.tries.wrong(pin, triesLeft);
      if (pin === 'PIN1') this.dropAll('wrong PIN1 try');
      const api = pinError(e);
      return api instanceof CardSessionError ? new CardSessionError(api.code, api.message, { ...api.context, retryAfterMs }) : api;
    }
    if (isCardError(e) && e.code === CardErrorCode.PinBlocked) {
      this.options.logger.warn({ terminal: terminalId, pin }, 'PIN try on a blocked PIN');
      if (pin !== 'PUK') this.tries.wrong(pin, 0);
    }
    return pinError(e);
  }

  private async rightTry(terminalId: string, pin: ThrottledPin, card: HomeCard): Promise<void> {
    this.throttle.succeeded(terminalId, pin);
    this.options.logger.info({ terminal: terminalId, pin }, 'PIN accepted');
    await this.tries.right(card, pin);
  }

  /** Close this terminal's card session; the card's security state is reset if it was its. */
  async lock(terminalId: string, reason: LockReason = 'request'): Promise<void> {
    this.close(terminalId, reason);
    if (this.owner === terminalId) {
      await this.options.cards.exclusive(async (card) => {
        if (this.owner !== terminalId) return;
        this.owner = undefined;
        await card.select();
      });
    }
  }

  /**
   * Take the card for this terminal, in its PIN1 state, until `release()`.
   * Throws CardSessionError card-locked when the terminal has no open session.
   */
  async lease(terminalId: string): Promise<CardLease> {
    const session = this.sessions.get(terminalId);
    if (!session) throw cardLocked();
    this.touch(terminalId, session);
    const { card, release } = await this.options.cards.lease();
    try {
      // While this waited for the card, the session may have ended (a wrong
      // PIN1 elsewhere, lock, PIN1 changed): its PIN1 buffer is zeroed then.
      if (this.sessions.get(terminalId) !== session) throw cardLocked();
      if (this.owner !== terminalId) {
        this.owner = undefined;
        await card.select();
        if (session.cardId !== this.options.cards.cardId) {
          this.close(terminalId, 'card-reset');
          throw cardLocked();
        }
        const { pin1 } = await card.retryCounters();
        if (pin1.left < pin1.max) {
          // A wrong PIN1 was tried since this terminal's person typed the right
          // one; re-presenting it now would restore the counter for the guesser.
          this.close(terminalId, 'card-reset');
          this.options.logger.warn({ terminal: terminalId, pin1TriesLeft: pin1.left }, 'cached PIN1 not re-presented: wrong PIN1 tries since it was verified');
          throw cardLocked('pin1-tried');
        }
        await card.verifyPin1(session.pin1.toString('utf8')).catch((e: unknown) => {
          // The card no longer takes this PIN1 (changed, or blocked): end the session.
          this.close(terminalId, 'card-reset');
          throw this.failedTry(terminalId, 'PIN1', e);
        });
        this.owner = terminalId;
      }
      return { card, release };
    } catch (e) {
      release();
      throw e;
    }
  }

  /** Ends every terminal's session (`reason` for the `terminal-locked` events). */
  closeAll(reason: LockReason = 'request'): void {
    for (const id of [...this.sessions.keys()]) this.close(id, reason);
  }

  /** The terminals with an open card session. */
  openTerminals(): string[] {
    return [...this.sessions.keys()];
  }

  /** Ends every session and resets the card's security state (dashboard `lock-card`). Idempotent. */
  async lockAll(reason: LockReason = 'lock-card'): Promise<number> {
    const open = this.sessions.size;
    this.closeAll(reason);
    if (this.owner !== undefined) {
      await this.options.cards
        .exclusive(async (card) => {
          if (this.owner === undefined) return;
          this.owner = undefined;
          await card.select();
        })
        .catch((e: unknown) => {
          if (!isCardSessionError(e, 'card-absent')) throw e; // a card that is gone kept no security state
        });
    }
    return open;
  }

  private close(terminalId: string, reason?: LockReason): void {
    const s = this.sessions.get(terminalId);
    if (!s) return;
    clearTimeout(s.timer);
    s.pin1.fill(0);
    this.sessions.delete(terminalId);
    if (reason !== undefined) this.options.events?.emit('terminal-locked', { terminal: terminalId, reason });
  }

  private touch(terminalId: string, s: OpenSession): void {
    clearTimeout(s.timer);
    s.timer = this.idleTimer(terminalId);
  }

  private idleTimer(terminalId: string): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.options.logger.info({ terminal: terminalId }, 'card session closed after idle time');
      void this.lock(terminalId, 'idle').catch(() => undefined);
    }, this.idleTimeoutMs);
    t.unref();
    return t;
  }
}

function cardLocked(reason?: 'pin1-tried'): CardSessionError {
  if (reason === 'pin1-tried') {
    return new CardSessionError('card-locked', 'A wrong PIN1 was tried on the home card since this terminal unlocked it: unlock again with PIN1', { reason });
  }
  return new CardSessionError('card-locked', 'The home card is locked for this terminal: unlock it with PIN1 first');
}

/** The gateway command that sets a new PIN with the PUK (README, `homegate card unblock`). */
export function unblockCommand(pin: string): string | null {
  return pin === 'PIN1' ? 'homegate card unblock 1' : pin === 'PIN2' ? 'homegate card unblock 2' : null;
}

/** Card PIN errors → card session errors; anything else passes through. */
export function pinError(e: unknown): unknown {
  if (!isCardError(e)) return e;
  const pin = (e as CardError).context.pin ?? 'PIN';
  if (e.code === CardErrorCode.WrongPin) {
    return new CardSessionError('pin-wrong', `Wrong ${pin}, ${e.context.triesLeft ?? 0} tries left`, { pin, triesLeft: e.context.triesLeft ?? 0 });
  }
  if (e.code === CardErrorCode.PinBlocked) {
    const command = unblockCommand(pin);
    const how = command ? `on the gateway, run "${command}" (asks the PUK and a new ${pin})` : 'the card must be reset and personalized again';
    return new CardSessionError('pin-blocked', `${pin} is blocked; ${how}`, { pin, unblockCommand: command });
  }
  if (e.code === CardErrorCode.SecurityStatusNotSatisfied) return cardLocked();
  return e;
}
