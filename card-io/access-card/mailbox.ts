/**
 * The terminal's mailbox (claim 4, terminal side; `homegate terminal mail`):
 * reads the notifications the gateway published to
 * `<prefix>/terminals/<terminalId>/mail`.
 *
 * It connects with client id `homegate-mail-<terminalId>` and clean session
 * off (MQTT 3.1.1 §3.1.2.4), subscribes with QoS 1, so the broker keeps the
 * subscription between reads and queues what is published while the terminal
 * is offline (Mosquitto with persistence on keeps that queue across its own
 * restarts too). The first read creates the session: what was published
 * before it is not kept for this terminal.
 *
 * Every message is verified against the card certificate pinned in the
 * terminal profile (mail-verifier.ts) before anything else: unsigned, wrongly
 * signed or mismatched ones are counted as `rejected` and never shown.
 * Delivery is at-least-once, so it then drops duplicates by the verified id
 * (within the read, and `seen` ids of earlier reads): a forged message that
 * borrows a real one's id cannot hide it. It collects until no message
 * arrived for `idleMs`, then disconnects cleanly; the broker then forgets
 * what was acknowledged.
 *
 * It logs in with the terminal's own broker user (its registry id and the
 * password from its profile's broker.json): the household's broker refuses
 * anonymous clients and ties the client id to the user (the embedded broker
 * admits only `homegate-mail-<user>`; the shipped Mosquitto replaces any
 * client id by the user name), so nobody else can resume this session.
 *
 * The topic layout mirrors gateway/notify/mqtt-notifier.ts (card-io does not
 * import the gateway).
 */
import type { KeyObject } from 'node:crypto';
import tls from 'node:tls';
import mqtt, { type IConnackPacket, type MqttClient } from 'mqtt';
import { cardKeyOf, verifyMail } from './mail-verifier.js';
import { CodedError } from '../base/coded-error.js';

export interface MailboxOptions {
  /** Broker URL, `mqtt://host:port` or `mqtts://host:port`. */
  url: string;
  /** This terminal's registry id; one topic level (no `/`, `+`, `#`). */
  terminalId: string;
  username?: string;
  password?: string;
  /** Default `homegate`, as the gateway's. */
  topicPrefix?: string;
  /** Stop after this long without a message, ms. Default 1000. */
  idleMs?: number;
  /** Give up when there is no CONNACK within this, ms. Default 10 000. */
  connectTimeoutMs?: number;
  /** Upper bound of one read, ms, however busy the topic. Default 60 000. */
  maxReadMs?: number;
  /** Notification ids already read earlier: dropped as duplicates. */
  seen?: ReadonlySet<string>;
  /** The card certificate pinned at enrollment (DER, or PEM text): only mail the card signed is shown. */
  cardCertificate: Uint8Array | string;
  /**
   * Extra trust anchors (PEM) for an `mqtts://` broker, beside the system's:
   * the household CA from the terminal's profile, which issues the household
   * broker's certificate (deploy/mosquitto/homegate.conf).
   */
  ca?: string;
  /**
   * A client certificate and key (PEM) for a broker that asks for one
   * (Mosquitto `require_certificate true`): the terminal's own, from its
   * profile, which the household CA issued. Only sent over TLS.
   */
  cert?: string;
  key?: string;
}

/** One notification as received: its id and type, and the whole JSON object. */
export interface MailMessage {
  id: string;
  type: string;
  notification: Record<string, unknown>;
}

export interface MailboxRead {
  /** Distinct notifications, in arrival order. */
  messages: MailMessage[];
  /** False on the first read of this terminal (the broker had no session: nothing could be queued yet). */
  sessionPresent: boolean;
  /** Messages dropped because their id was already read. */
  duplicates: number;
  /** Payloads that were not a notification (not JSON, or no string id). */
  malformed: number;
  /** Notifications ignored because the card did not sign them as shown (unsigned, bad signature, fields or addressee differ). */
  rejected: number;
}

export type MailboxErrorCode = 'invalid-options' | 'no-card-certificate' | 'broker-unreachable' | 'broker-refused' | 'subscribe-refused';

export class MailboxError extends CodedError<MailboxErrorCode> {
  override readonly name = 'MailboxError';
  readonly family = 'mailbox';
  constructor(code: MailboxErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, `${message} (mailbox:${code})`, {}, options);
  }
}

export function isMailboxError(e: unknown, code?: MailboxErrorCode): e is MailboxError {
  return e instanceof MailboxError && (code === undefined || e.code === code);
}

export function mailboxClientId(terminalId: string): string {
  return `homegate-mail-${terminalId}`;
}

/** Reads and verifies this terminal's mail (see the top of this file). */
export async function readMailbox(options: MailboxOptions): Promise<MailboxRead> {
  let key: KeyObject;
  try {
    key = cardKeyOf(options.cardCertificate);
  } catch (e) {
    throw new MailboxError('no-card-certificate', 'No valid card certificate to verify mail with; enroll this terminal again', { cause: e });
  }
  return collect(options, (value) => {
    if (parse(value) === undefined) return 'malformed';
    const v = verifyMail(value, key, options.terminalId);
    return typeof v === 'string' ? 'rejected' : { id: v.id, type: v.type, notification: v.notification };
  });
}

/**
 * The transport without verification, for diagnostics and tests of the
 * broker path: dedupes by the id the payload claims. Never show what it
 * returns to a person as the card's word.
 */
export function readUnverifiedMailbox(options: Omit<MailboxOptions, 'cardCertificate'>): Promise<MailboxRead> {
  return collect(options, (value) => parse(value) ?? 'malformed');
}

type Accept = (value: unknown) => MailMessage | 'malformed' | 'rejected';

async function collect(options: Omit<MailboxOptions, 'cardCertificate'>, accept: Accept): Promise<MailboxRead> {
  const prefix = options.topicPrefix ?? 'homegate';
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(options.terminalId)) throw new MailboxError('invalid-options', 'A terminal id is one topic level of [A-Za-z0-9._-]');
  if (!/^[^/+#\s]+$/.test(prefix)) throw new MailboxError('invalid-options', 'The topic prefix is one topic level without /, + or #');
  const topic = `${prefix}/terminals/${options.terminalId}/mail`;
  const read: MailboxRead = { messages: [], sessionPresent: false, duplicates: 0, malformed: 0, rejected: 0 };
  const ids = new Set(options.seen ?? []);
  let onActivity = () => {};

  const client = mqtt.connect(options.url, {
    clientId: mailboxClientId(options.terminalId),
    clean: false,
    username: options.username,
    password: options.password,
    connectTimeout: options.connectTimeoutMs ?? 10_000,
    reconnectPeriod: 0, // one read: a failure is reported, not retried
    // mqtts: the system's anchors plus the household CA; the broker's name is checked as always.
    ...(options.ca ? { ca: [...tls.rootCertificates, options.ca] } : {}),
    ...(options.cert && options.key ? { cert: options.cert, key: options.key } : {}),
  });
  // Attached before the CONNACK: a persistent session's queued messages follow it at once.
  client.on('message', (t, payload) => {
    if (t !== topic) return;
    const message = accept(json(payload));
    if (message === 'malformed') read.malformed += 1;
    else if (message === 'rejected') read.rejected += 1;
    else if (ids.has(message.id)) read.duplicates += 1;
    else {
      ids.add(message.id);
      read.messages.push(message);
    }
    onActivity();
  });

  try {
    const connack = await connected(client, options.url);
    read.sessionPresent = connack.sessionPresent;
    const [grant] = await client.subscribeAsync(topic, { qos: 1 });
    if (grant === undefined || grant.qos !== 1) {
      throw new MailboxError('subscribe-refused', `The broker refused QoS 1 on ${topic} (granted ${grant?.qos}); check the ACL for this terminal`);
    }
    await new Promise<void>((resolve) => {
      const idleMs = options.idleMs ?? 1000;
      // Both timers are cleared whichever ends the read: a pending cap would keep the process alive.
      const done = () => {
        clearTimeout(idle);
        clearTimeout(cap);
        resolve();
      };
      let idle = setTimeout(done, idleMs);
      const cap = setTimeout(done, options.maxReadMs ?? 60_000);
      onActivity = () => {
        clearTimeout(idle);
        idle = setTimeout(done, idleMs);
      };
    });
    onActivity = () => {};
    await client.endAsync(); // a clean DISCONNECT, after the PUBACKs of what was read
    return read;
  } catch (e) {
    await client.endAsync(true).catch(() => undefined);
    throw e;
  }
}

function connected(client: MqttClient, url: string): Promise<IConnackPacket> {
  return new Promise((resolve, reject) => {
    const fail = (e: Error & { code?: number | string }) => {
      client.off('connect', ok);
      const refused = typeof e.code === 'number'; // a CONNACK return code: the broker answered "no"
      reject(
        refused
          ? new MailboxError('broker-refused', `The MQTT broker refused this terminal: ${e.message}`, { cause: e })
          : new MailboxError('broker-unreachable', `Cannot reach the MQTT broker at ${redact(url)}: ${e.message}`, { cause: e }),
      );
    };
    const ok = (connack: IConnackPacket) => {
      client.off('error', fail);
      client.on('error', () => undefined); // later errors end the read through endAsync
      resolve(connack);
    };
    client.once('connect', ok);
    client.once('error', fail);
  });
}

function json(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
}

function parse(value: unknown): MailMessage | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const notification = value as Record<string, unknown>;
  if (typeof notification.id !== 'string' || notification.id === '') return undefined;
  return { id: notification.id, type: String(notification.type), notification };
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '(an invalid URL)';
  }
}
