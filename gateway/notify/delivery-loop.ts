/**
 * One delivery loop per channel: takes the outbox's pending notifications for
 * the channel, sends them (up to `concurrency` at once), and marks the channel
 * done only when the send resolved, i.e. the peer acknowledged (MQTT PUBACK,
 * SMTP accepted).
 *
 * Event-driven, never polling: it runs when a notification is queued, when a
 * send finished, when the channel becomes ready (MQTT reconnected), and when a
 * backoff timer after a failure ends. A transient failure (broker or mail
 * server down) pauses the whole channel with exponential backoff and keeps
 * the notification; a permanent refusal (NotifyError 'rejected') gives that
 * notification up on this channel only, loudly.
 */
import type { Logger } from '../../card-io/base/log.js';
import type { Notification } from './notification.js';
import { isNotifyError } from './notify-error.js';
import type { ChannelName, Outbox } from './outbox.js';

export interface DeliveryChannel {
  readonly name: ChannelName;
  /** How many sends may be outstanding at once. */
  readonly concurrency: number;
  /** Whether a send may be attempted now (MQTT: connected; SMTP: always). */
  isReady(): boolean;
  /** Calls `listener` whenever the channel becomes ready; returns the unsubscribe function. */
  onReady(listener: () => void): () => void;
  /** Resolves once the peer acknowledged `n`; rejects otherwise (NotifyError 'rejected' when for good). */
  send(n: Notification): Promise<void>;
}

export interface BackoffOptions {
  /** First retry delay after a failure, ms. Default 1000. */
  initialMs: number;
  /** Upper bound of the doubling delay, ms. Default 300 000 (5 min). */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1000, maxMs: 300_000 };

export function backoffDelay(failures: number, backoff: BackoffOptions): number {
  return Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(failures - 1, 30));
}

export class DeliveryLoop {
  readonly #outbox: Outbox;
  readonly #channel: DeliveryChannel;
  readonly #backoff: BackoffOptions;
  readonly #logger: Logger;
  readonly #inflight = new Set<string>();
  readonly #offs: (() => void)[] = [];
  #failures = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #stopped = true;

  constructor(outbox: Outbox, channel: DeliveryChannel, backoff: BackoffOptions, logger: Logger) {
    this.#outbox = outbox;
    this.#channel = channel;
    this.#backoff = backoff;
    this.#logger = logger.child({ channel: channel.name });
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#offs.push(this.#outbox.onChange(() => this.#pump()));
    this.#offs.push(
      this.#channel.onReady(() => {
        this.#failures = 0; // a reconnect is the retry: no need to wait out the backoff
        this.#clearRetry();
        this.#pump();
      }),
    );
    this.#pump();
  }

  /** Stops starting sends; sends in flight settle on their own (the outbox keeps what they did not finish). */
  stop(): void {
    this.#stopped = true;
    this.#clearRetry();
    for (const off of this.#offs.splice(0)) off();
  }

  /** Ends a backoff wait now and sends what is pending (a person asked: `outbox/retry`). Idempotent. */
  retryNow(): void {
    if (this.#stopped) return;
    this.#failures = 0;
    this.#clearRetry();
    this.#pump();
  }

  get inflight(): number {
    return this.#inflight.size;
  }

  #pump(): void {
    if (this.#stopped || this.#retryTimer !== undefined || !this.#channel.isReady()) return;
    for (const n of this.#outbox.pendingFor(this.#channel.name)) {
      if (this.#inflight.size >= this.#channel.concurrency) return;
      if (this.#inflight.has(n.id)) continue;
      this.#inflight.add(n.id);
      void this.#deliver(n);
    }
  }

  async #deliver(n: Notification): Promise<void> {
    let done = false;
    try {
      await this.#channel.send(n);
      this.#failures = 0;
      done = true;
    } catch (e) {
      if (isNotifyError(e, 'rejected')) {
        this.#logger.error({ id: n.id, err: e.message }, 'Notification refused for good on this channel; giving it up here');
        done = true;
      } else if (!this.#stopped) {
        this.#failed(n, e);
      }
    }
    if (done) await this.#outbox.markDone(n.id, this.#channel.name).catch((e: unknown) => this.#markFailed(n, e));
    this.#inflight.delete(n.id);
    this.#pump();
  }

  #markFailed(n: Notification, e: unknown): void {
    this.#logger.error({ id: n.id, err: (e as Error).message }, 'Could not record a delivery in the outbox; it will be sent again');
  }

  #failed(n: Notification, e: unknown): void {
    this.#failures += 1;
    const delayMs = backoffDelay(this.#failures, this.#backoff);
    this.#logger.warn({ id: n.id, err: (e as Error).message, retryInMs: delayMs }, 'Notification not delivered; kept in the outbox');
    if (this.#retryTimer !== undefined) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#pump();
    }, delayMs);
  }

  #clearRetry(): void {
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }
}
