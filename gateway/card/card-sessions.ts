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
 * a buffer it zeroes when the session ends. The alternative, ISO 7816-4
 * logical channels with one security state each, is left for later.
 */
import { CardErrorCode, isCardError, type CardError } from '../../card-io/errors.js';
import type { HomeCard } from '../../card-io/home-card/home-card.js';
import type { Logger } from '../../card-io/log.js';
import { ApiError } from '../terminal-api/api-error.js';
import type { CardService } from './card-service.js';

interface OpenSession {
  pin1: Buffer;
  timer: NodeJS.Timeout;
}

export interface CardSessionsOptions {
  cards: CardService;
  logger: Logger;
  /** Idle time after which a terminal's card session closes, in ms. Default 600000 (10 min). */
  idleTimeoutMs?: number;
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

  constructor(private readonly options: CardSessionsOptions) {
    this.idleTimeoutMs = options.idleTimeoutMs ?? 600_000;
    options.cards.onReset(() => (this.owner = undefined));
  }

  isOpen(terminalId: string): boolean {
    return this.sessions.has(terminalId);
  }

  /** Present PIN1 for this terminal; on success its card session is open. */
  async unlock(terminalId: string, pin1: string): Promise<void> {
    await this.options.cards.exclusive(async (card) => {
      this.owner = undefined;
      await card.select();
      await card.verifyPin1(pin1).catch((e: unknown) => {
        throw pinError(e);
      });
      this.owner = terminalId;
    });
    this.close(terminalId);
    const session: OpenSession = { pin1: Buffer.from(pin1, 'utf8'), timer: this.idleTimer(terminalId) };
    this.sessions.set(terminalId, session);
    this.options.logger.info({ terminal: terminalId }, 'card session opened');
  }

  /** Close this terminal's card session; the card's security state is reset if it was its. */
  async lock(terminalId: string): Promise<void> {
    this.close(terminalId);
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
   * Throws ApiError card-locked when the terminal has no open session.
   */
  async lease(terminalId: string): Promise<CardLease> {
    const session = this.sessions.get(terminalId);
    if (!session) throw cardLocked();
    this.touch(terminalId, session);
    const { card, release } = await this.options.cards.lease();
    try {
      if (this.owner !== terminalId) {
        this.owner = undefined;
        await card.select();
        await card.verifyPin1(session.pin1.toString('utf8')).catch((e: unknown) => {
          // The card no longer takes this PIN1 (changed, or blocked): end the session.
          this.close(terminalId);
          throw pinError(e);
        });
        this.owner = terminalId;
      }
      return { card, release };
    } catch (e) {
      release();
      throw e;
    }
  }

  closeAll(): void {
    for (const id of [...this.sessions.keys()]) this.close(id);
  }

  private close(terminalId: string): void {
    const s = this.sessions.get(terminalId);
    if (!s) return;
    clearTimeout(s.timer);
    s.pin1.fill(0);
    this.sessions.delete(terminalId);
  }

  private touch(terminalId: string, s: OpenSession): void {
    clearTimeout(s.timer);
    s.timer = this.idleTimer(terminalId);
  }

  private idleTimer(terminalId: string): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.options.logger.info({ terminal: terminalId }, 'card session closed after idle time');
      void this.lock(terminalId).catch(() => undefined);
    }, this.idleTimeoutMs);
    t.unref();
    return t;
  }
}

function cardLocked(): ApiError {
  return new ApiError(423, 'card-locked', 'The home card is locked for this terminal: unlock it with PIN1 first');
}

/** Card PIN errors → API errors; anything else passes through. */
export function pinError(e: unknown): unknown {
  if (!isCardError(e)) return e;
  const pin = (e as CardError).context.pin ?? 'PIN';
  if (e.code === CardErrorCode.WrongPin) {
    return new ApiError(401, 'pin-wrong', `Wrong ${pin}, ${e.context.triesLeft ?? 0} tries left`, { pin, triesLeft: e.context.triesLeft ?? 0 });
  }
  if (e.code === CardErrorCode.PinBlocked) return new ApiError(423, 'pin-blocked', `${pin} is blocked; unblock it with the PUK`, { pin });
  if (e.code === CardErrorCode.SecurityStatusNotSatisfied) return cardLocked();
  return e;
}
