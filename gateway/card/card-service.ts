/**
 * The gateway's one home card: keeps the line open (the link reconnects by
 * itself), knows whether a card answers, and lends the card to one user at a
 * time. Whenever the line re-opens the card has been power-cycled (or swapped),
 * so every card session on it is gone: listeners of `onReset` drop theirs.
 *
 * With a card socket (`socket`), presence is the socket's: insertion, ATR,
 * removal and the household check run in socket-card-lifecycle.ts, and a card
 * that stops answering is reset warm, then cold, before it counts as absent.
 */
import { CardErrorCode, isCardError } from '../../card-io/errors.js';
import { connectHomeCard, type ConnectHomeCardOptions } from '../../card-io/home-card/connect.js';
import type { HomeCard } from '../../card-io/home-card/home-card.js';
import { Listeners } from '../../card-io/link/listeners.js';
import type { Logger } from '../../card-io/base/log.js';
import type { SafeFields } from '../../card-io/base/coded-error.js';
import { CardSessionError } from './card-session-error.js';
import { Mutex } from './mutex.js';
import type { GatewayEvents } from '../events/gateway-events.js';
import { SocketCardLifecycle, type SocketCardHost, type SocketCardLifecycleOptions } from './socket-card-lifecycle.js';

export type CardPresence = 'present' | 'absent';

export interface CardServiceOptions extends ConnectHomeCardOptions {
  logger: Logger;
  /** Wait between attempts to reach a card that is not there yet, in ms. Default 2000. */
  retryMs?: number;
  /** The card sits in a socket (card.socket in gateway.json); absent: the line coming up is the card. */
  socket?: Omit<SocketCardLifecycleOptions, 'host' | 'logger' | 'events'>;
  /** The gateway's event bus (card-inserted, -removed, -activated, -refused, -busy). */
  events?: GatewayEvents;
}

/** What the service lends out: the driver and whether it still reaches a card. */
interface CardHandle {
  readonly card: HomeCard;
  usable(): boolean;
  readonly stats: { apdus: number };
  /** In a socket: T=1 gave up on the card since the last call, so a reset is due. */
  takeStoppedAnswering?(): boolean;
  close(): Promise<void>;
}

export class CardService {
  private connection: CardHandle | undefined;
  private lifecycle: SocketCardLifecycle | undefined;
  private readonly mutex = new Mutex();
  private readonly resets = new Listeners<void>();
  private presence: CardPresence = 'absent';
  private cardCertificate: Buffer | undefined;
  private currentCardId: string | undefined;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Command APDUs sent so far, for benchmarks (card operations per authorization). */
  get commandCount(): number {
    return this.connection?.stats.apdus ?? 0;
  }

  constructor(private readonly options: CardServiceOptions) {}

  get status(): CardPresence {
    return this.presence;
  }

  /** The card id (16 hex digits) of the card present, read once per insertion. */
  get cardId(): string | undefined {
    return this.currentCardId;
  }

  /** The card certificate (DER), read once per card insertion. */
  get certificate(): Buffer | undefined {
    return this.cardCertificate;
  }

  onReset(listener: () => void): () => void {
    return this.resets.add(listener);
  }

  /** The socket and the card in it (wiring, refused card id), for the admin side; undefined without a socket. */
  describeSocket(): Record<string, unknown> | undefined {
    return this.lifecycle?.describe();
  }

  /** The socket for the health endpoint (presence, ATR, protocol parameters); undefined without a socket. */
  socketSummary(): Record<string, unknown> | undefined {
    return this.lifecycle?.summary();
  }

  /** Connect now; when no card answers yet, keep trying in the background. */
  async start(): Promise<void> {
    if (this.options.socket) {
      this.lifecycle = new SocketCardLifecycle({ ...this.options.socket, logger: this.options.logger, events: this.options.events, host: this.socketHost() });
      await this.lifecycle.start();
      return;
    }
    await this.tryConnect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.lifecycle?.stop();
    await this.connection?.close();
    this.connection = undefined;
  }

  /** Run `fn` with the card to itself. Throws CardSessionError card-absent without a card. */
  async exclusive<T>(fn: (card: HomeCard) => Promise<T>): Promise<T> {
    const release = await this.mutex.acquire();
    this.options.events?.emit('card-busy', { busy: true });
    try {
      const card = this.connection?.card;
      if (!card || !this.connection?.usable()) throw this.noCard();
      try {
        return await fn(card);
      } catch (e) {
        if (isCardError(e) && e.code >= 200 && e.code < 400) throw cardAbsent(e);
        throw e;
      }
    } finally {
      await this.recoverIfStuck();
      this.options.events?.emit('card-busy', { busy: false });
      release();
    }
  }

  /** With the mutex held: a card T=1 gave up on gets a warm, then a cold reset, before it counts as absent. */
  private async recoverIfStuck(): Promise<void> {
    if (this.lifecycle && this.connection?.takeStoppedAnswering?.()) await this.lifecycle.recover().catch(() => undefined);
  }

  /**
   * Run `fn` while no card command runs, card present or not (a backup's
   * snapshot: no money decision can happen meanwhile; data-snapshot.ts).
   */
  paused<T>(fn: () => Promise<T>): Promise<T> {
    return this.mutex.run(fn);
  }

  /** Lend the card until the returned release is called (for work that spans network waits). */
  async lease(): Promise<{ card: HomeCard; release: () => void }> {
    const release = await this.mutex.acquire();
    const card = this.connection?.card;
    if (!card || !this.connection?.usable()) {
      release();
      throw this.noCard();
    }
    this.options.events?.emit('card-busy', { busy: true });
    let released = false;
    return {
      card,
      release: () => {
        if (released) return;
        released = true;
        void this.recoverIfStuck().finally(() => {
          this.options.events?.emit('card-busy', { busy: false });
          release();
        });
      },
    };
  }

  /**
   * No usable card: card-absent, saying why when the socket knows (a person at
   * a terminal must learn that the card in the socket is the wrong one, not
   * that "the card does not answer").
   */
  private noCard(): CardSessionError {
    const state = this.lifecycle?.state;
    if (state === 'refused') {
      return new CardSessionError(
        'card-absent',
        "The card in the gateway's socket is not this household's home card: it is refused and not used; put the household's card in",
        { cardErrorCode: CardErrorCode.LinkDisconnected, outcome: 'not-sent', reason: 'foreign-card' },
      );
    }
    if (state === 'mute') {
      return new CardSessionError('card-absent', "The card in the gateway's socket does not answer its reset; take it out and put it in again", {
        cardErrorCode: CardErrorCode.LinkDisconnected,
        outcome: 'not-sent',
        reason: 'card-mute',
      });
    }
    return cardAbsent();
  }

  /** The socket lifecycle's view of this service. */
  private socketHost(): SocketCardHost {
    return {
      exclusively: (fn) => this.mutex.run(fn),
      up: (active, info) => {
        this.connection = {
          card: active.card,
          usable: () => true,
          stats: active.ifd.stats,
          takeStoppedAnswering: () => active.takeStoppedAnswering(),
          close: async () => active.close(),
        };
        this.cardCertificate = info.certificate;
        this.currentCardId = info.cardId;
        this.presence = 'present';
        this.resets.emit();
        this.options.logger.info({ cardId: info.cardId, lifeCycle: info.lifeCycle }, 'home card present');
      },
      down: () => {
        this.connection = undefined;
        this.markAbsent();
      },
    };
  }

  private async tryConnect(): Promise<void> {
    if (this.stopped) return;
    try {
      const conn = await connectHomeCard({ ...this.options, logger: this.options.logger });
      this.connection = { card: conn.card, usable: () => conn.link.status === 'connected', stats: conn.ifd.stats, close: () => conn.close() };
      await this.onCardUp(conn);
      conn.link.onStatus((status) => {
        if (status === 'disconnected') this.markAbsent();
        if (status === 'connected') void this.mutex.run(() => this.onCardUp(conn)).catch((e: unknown) => this.onCardError(e));
      });
    } catch (e) {
      this.onCardError(e);
      this.retryTimer = setTimeout(() => void this.tryConnect(), this.options.retryMs ?? 2000);
      this.retryTimer.unref();
    }
  }

  private async onCardUp(conn: { card: HomeCard }): Promise<void> {
    const info = await conn.card.info();
    this.cardCertificate = info.certificate;
    this.currentCardId = info.cardId;
    this.presence = 'present';
    this.resets.emit();
    this.options.logger.info({ cardId: info.cardId, lifeCycle: info.lifeCycle }, 'home card present');
  }

  private markAbsent(): void {
    if (this.presence === 'absent') return;
    this.presence = 'absent';
    this.resets.emit();
    this.options.logger.warn({}, 'home card absent');
  }

  private onCardError(e: unknown): void {
    this.markAbsent();
    this.options.logger.warn({ err: isCardError(e) ? e.message : String(e) }, 'home card not reachable');
  }
}

function cardAbsent(cause?: unknown): CardSessionError {
  const code = isCardError(cause) ? cause.code : CardErrorCode.LinkDisconnected;
  // A card pulled mid-command: whether the command ran ('not-sent' or 'unknown'; the card's log settles 'unknown').
  const context: SafeFields = { cardErrorCode: code };
  if (isCardError(cause, CardErrorCode.CardRemoved) && typeof cause.context.outcome === 'string') context.outcome = cause.context.outcome;
  // No card to send it to: the command was not sent.
  if (cause === undefined) context.outcome = 'not-sent';
  return new CardSessionError('card-absent', 'The home card does not answer (absent or line down)', context);
}
