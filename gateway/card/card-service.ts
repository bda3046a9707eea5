/**
 * The gateway's one home card: keeps the line open (the link reconnects by
 * itself), knows whether a card answers, and lends the card to one user at a
 * time. Whenever the line re-opens the card has been power-cycled (or swapped),
 * so every card session on it is gone: listeners of `onReset` drop theirs.
 */
import { CardErrorCode, isCardError } from '../../card-io/errors.js';
import { connectHomeCard, type ConnectHomeCardOptions, type HomeCardConnection } from '../../card-io/home-card/connect.js';
import type { HomeCard } from '../../card-io/home-card/home-card.js';
import { Listeners } from '../../card-io/link/listeners.js';
import type { Logger } from '../../card-io/base/log.js';
import { CardSessionError } from './card-session-error.js';
import { Mutex } from './mutex.js';

export type CardPresence = 'present' | 'absent';

export interface CardServiceOptions extends ConnectHomeCardOptions {
  logger: Logger;
  /** Wait between attempts to reach a card that is not there yet, in ms. Default 2000. */
  retryMs?: number;
}

export class CardService {
  private connection: HomeCardConnection | undefined;
  private readonly mutex = new Mutex();
  private readonly resets = new Listeners<void>();
  private presence: CardPresence = 'absent';
  private cardCertificate: Buffer | undefined;
  private currentCardId: string | undefined;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Command APDUs sent so far, for benchmarks (card operations per authorization). */
  get commandCount(): number {
    return this.connection?.ifd.stats.apdus ?? 0;
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

  /** Connect now; when no card answers yet, keep trying in the background. */
  async start(): Promise<void> {
    await this.tryConnect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.connection?.close();
    this.connection = undefined;
  }

  /** Run `fn` with the card to itself. Throws CardSessionError card-absent without a card. */
  async exclusive<T>(fn: (card: HomeCard) => Promise<T>): Promise<T> {
    const release = await this.mutex.acquire();
    try {
      const card = this.connection?.card;
      if (!card || this.connection?.link.status !== 'connected') throw cardAbsent();
      try {
        return await fn(card);
      } catch (e) {
        if (isCardError(e) && e.code >= 200 && e.code < 400) throw cardAbsent(e);
        throw e;
      }
    } finally {
      release();
    }
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
    if (!card || this.connection?.link.status !== 'connected') {
      release();
      throw cardAbsent();
    }
    return { card, release };
  }

  private async tryConnect(): Promise<void> {
    if (this.stopped) return;
    try {
      const conn = await connectHomeCard({ ...this.options, logger: this.options.logger });
      this.connection = conn;
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

  private async onCardUp(conn: HomeCardConnection): Promise<void> {
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
  return new CardSessionError('card-absent', 'The home card does not answer (absent or line down)', { cardErrorCode: code });
}
