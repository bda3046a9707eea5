/**
 * The notifier: the durable outbox plus one delivery loop per configured
 * channel (MQTT, SMTP). `notify` resolves once the notification is durably
 * queued for every configured channel; delivery happens in the background,
 * survives broker and mail-server outages and gateway restarts (pending
 * notifications are reloaded and resent at start), and is at-least-once with
 * a stable id per card event.
 */
import { silentLogger, type Logger } from '../../card-io/base/log.js';
import { DEFAULT_BACKOFF, DeliveryLoop, type BackoffOptions, type DeliveryChannel } from './delivery-loop.js';
import { MqttNotifier, resolveMqttOptions, type MqttNotifierOptions } from './mqtt-notifier.js';
import type { Notification } from './notification.js';
import { NotifyError } from './notify-error.js';
import { Outbox, type ChannelName, type EnqueueOptions, type OutboxEntry } from './outbox.js';
// Types only: the SMTP channel (and nodemailer) is loaded when SMTP is configured, not otherwise.
import type { SmtpNotifierOptions } from './smtp-notifier.js';
import type { JsonValue } from '../../card-io/base/stable-json.js';
import type { GatewayEvents } from '../events/gateway-events.js';
import type { MqttLink } from './mqtt-notifier.js';

export interface NotifierOptions {
  /** The gateway's data directory; the outbox lives in `<dataDir>/outbox`. */
  dataDir: string;
  /** MQTT channel; absent: no MQTT notifications. */
  mqtt?: MqttNotifierOptions;
  /** SMTP channel; absent: no mail. */
  smtp?: SmtpNotifierOptions;
  logger?: Logger;
  /** Backoff after a failed send (SMTP down, a refused publish). Default 1 s doubling to 5 min. */
  retry?: Partial<BackoffOptions>;
  /** Delivered ids remembered for deduplication. Default 10 000. */
  deliveredCapacity?: number;
  /** Where the outbox's depth is announced (`outbox` event) on every change. */
  events?: GatewayEvents;
}

export interface Notifier {
  /** The configured channels, in delivery order. */
  readonly channels: readonly ChannelName[];
  /**
   * Resolves once `n` is durably queued (or is a duplicate of a pending or
   * recently delivered one); with `groupCommit`, once it is queued and to be
   * durable within the outbox log's group bound (Outbox.enqueue); with
   * `kept`, at once: another store keeps its durable copy and is told when
   * it is delivered (outbox.ts).
   */
  notify(n: Notification, options?: EnqueueOptions): Promise<void>;
  /** Notifications not yet delivered on every channel. */
  pending(): number;
  entries(): OutboxEntry[];
  /** Resolves when nothing is pending; NotifyError('flush-timeout') after `timeoutMs` (default 30 s). */
  flush(timeoutMs?: number): Promise<void>;
  /** The MQTT connection, for the dashboard (absent without MQTT). */
  readonly mqtt: MqttLink | undefined;
  /** Pending notifications and when the oldest was queued (unix ms). */
  outboxStats(): { depth: number; oldestPendingAt?: number };
  /** Ends every channel's backoff wait and sends what is pending now. */
  retryNow(): void;
  /** Publishes the gateway status, retained, on `<prefix>/gateway/status` (no-op without MQTT). */
  publishStatus(status: JsonValue): Promise<void>;
  /** Stops delivering and disconnects; what is pending stays in the outbox for the next start. */
  stop(): Promise<void>;
}

/** Validates every channel's options, reporting all problems at once. */
function validate(options: NotifierOptions, smtpModule: typeof import('./smtp-notifier.js') | undefined): void {
  const problems: NotifyError[] = [];
  const check = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      if (!(e instanceof NotifyError)) throw e;
      problems.push(e);
    }
  };
  const { mqtt, smtp } = options;
  if (mqtt) check(() => resolveMqttOptions(mqtt));
  if (smtp && smtpModule) check(() => smtpModule.resolveSmtpOptions(smtp));
  if (problems.length === 1) throw problems[0];
  if (problems.length > 1) {
    const issues = problems.flatMap((p) => p.context.issues as string[]);
    throw new NotifyError('invalid-options', `Invalid notifier options: ${issues.join('; ')}`, { issues });
  }
}

export async function createNotifier(options: NotifierOptions): Promise<Notifier> {
  const smtpModule = options.smtp ? await import('./smtp-notifier.js') : undefined;
  validate(options, smtpModule);
  const logger = (options.logger ?? silentLogger).child({ component: 'notifier' });
  const backoff: BackoffOptions = { ...DEFAULT_BACKOFF, ...options.retry };
  const outbox = await Outbox.open({ dataDir: options.dataDir, logger, deliveredCapacity: options.deliveredCapacity });
  const mqtt = options.mqtt ? new MqttNotifier(options.mqtt, logger) : undefined;
  const smtp = options.smtp && smtpModule ? new smtpModule.SmtpNotifier(options.smtp) : undefined;
  const channels: DeliveryChannel[] = [];
  if (mqtt) channels.push(mqtt);
  if (smtp) channels.push(smtp);
  const names = channels.map((c) => c.name);
  const loops = channels.map((c) => new DeliveryLoop(outbox, c, backoff, logger));
  warnAboutOrphans(outbox, names, logger);
  if (names.length === 0) logger.warn('No notification channel configured (neither MQTT nor SMTP): notifications are not sent');
  const outboxStats = () => {
    let oldest: number | undefined;
    for (const e of outbox.entries()) {
      const at = Date.parse(e.enqueuedAt);
      if (Number.isFinite(at) && (oldest === undefined || at < oldest)) oldest = at;
    }
    return oldest === undefined ? { depth: outbox.size } : { depth: outbox.size, oldestPendingAt: oldest };
  };
  const events = options.events;
  let lastDepth = -1;
  const offOutbox = events
    ? outbox.onChange(() => {
        if (outbox.size === lastDepth) return; // a `done` of one channel of two: nothing a dashboard shows changed
        lastDepth = outbox.size;
        events.emit('outbox', outboxStats());
      })
    : () => undefined;
  mqtt?.start();
  for (const loop of loops) loop.start();
  let stopped = false;

  return {
    channels: names,
    async notify(n, options = {}) {
      if (stopped) throw new NotifyError('stopped', 'The notifier is stopped', { id: n.id });
      // No channel: nothing will ever send it (as the outbox never queued it); a kept copy is done with at once.
      if (names.length === 0) return void (await options.kept?.delivered());
      const queued = await outbox.enqueue(n, names, options);
      if (!queued) logger.debug({ id: n.id }, 'Notification already queued or delivered; not queued again');
    },
    mqtt,
    outboxStats,
    retryNow: () => {
      for (const loop of loops) loop.retryNow();
    },
    pending: () => outbox.size,
    entries: () => outbox.entries(),
    flush: (timeoutMs = 30_000) => waitUntilEmpty(outbox, timeoutMs),
    publishStatus: async (status) => mqtt?.publishStatus(status),
    async stop() {
      if (stopped) return;
      stopped = true;
      offOutbox();
      for (const loop of loops) loop.stop();
      await Promise.all([mqtt?.stop(), smtp?.stop()]);
    },
  };
}

function warnAboutOrphans(outbox: Outbox, configured: readonly ChannelName[], logger: Logger): void {
  const orphans = outbox.entries().filter((e) => e.pending.some((c) => !configured.includes(c)));
  if (orphans.length > 0) {
    logger.warn(
      { count: orphans.length, configured },
      'Some queued notifications wait for a channel that is no longer configured; they stay in the outbox until it is',
    );
  }
}

function waitUntilEmpty(outbox: Outbox, timeoutMs: number): Promise<void> {
  if (outbox.size === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new NotifyError('flush-timeout', `${outbox.size} notifications still pending after ${timeoutMs} ms`, { pending: outbox.size }));
    }, timeoutMs);
    const off = outbox.onChange(() => {
      if (outbox.size > 0) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}
