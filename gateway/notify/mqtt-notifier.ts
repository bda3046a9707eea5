/**
 * The MQTT channel: publishes each notification to
 * `<prefix>/terminals/<terminalId>/mail` with QoS 1, retain false, and
 * reports it delivered only on PUBACK (MQTT 3.1.1 §4.3.2: the broker has then
 * taken ownership of the message).
 *
 * Broker down: nothing is published and nothing is lost; the outbox keeps the
 * notifications and the delivery loop resumes on the next CONNACK. Reconnect
 * attempts back off: `reconnectPeriodMs` doubling up to `reconnectMaxMs`, each
 * delay drawn between half and all of it (reconnect-backoff.ts). A publish
 * in flight when the connection drops stays in MQTT.js's store, is resent
 * (DUP) after the reconnect, and its PUBACK completes it.
 *
 * Hygiene (retained payloads are stable JSON, like Zigbee2MQTT's lib/mqtt.ts): a retained last
 * will `<prefix>/gateway/availability` = `offline`; `online` published
 * retained on every connect; `offline` published before a clean stop; the
 * gateway status retained on `<prefix>/gateway/status` as stable JSON,
 * republished on every connect.
 *
 * The connection is also the gateway's one MQTT link for the dashboard
 * (gateway/dashboard/): `publish`, `subscribe` (renewed on every connect: the
 * session is clean) and `onMessage`. One connection, not two: the shipped
 * Mosquitto makes the client id the user name, so a second connection of the
 * gateway's user would throw the first one off.
 */
import tls from 'node:tls';
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from '../../card-io/base/log.js';
import type { DeliveryChannel } from './delivery-loop.js';
import { serializeNotification, type Notification } from './notification.js';
import { invalidOptions } from './notify-error.js';
import { mqttNotifierOptionsSchema, type MqttNotifierOptions, type ResolvedMqttOptions } from './mqtt-options.js';
import { stableJson, type JsonValue } from '../../card-io/base/stable-json.js';
import { reconnectDelay } from './reconnect-backoff.js';

export type { MqttNotifierOptions, ResolvedMqttOptions } from './mqtt-options.js';

/** Validates every option at once; NotifyError('invalid-options') lists each problem. */
export function resolveMqttOptions(options: MqttNotifierOptions): ResolvedMqttOptions {
  const result = mqttNotifierOptionsSchema.safeParse(options);
  if (!result.success) throw invalidOptions('mqtt', result.error.issues);
  return result.data;
}

export function mailTopic(prefix: string, terminalId: string): string {
  return `${prefix}/terminals/${terminalId}/mail`;
}

/** What the dashboard needs of the gateway's MQTT connection. */
export interface MqttLink {
  readonly topicPrefix: string;
  /** `<topicPrefix>/<gatewayId>`. */
  readonly gatewayBase: string;
  readonly availabilityTopic: string;
  isReady(): boolean;
  /** Called on every CONNACK, after `online` was sent: the moment to republish retained state. */
  onReady(listener: () => void): () => void;
  /** QoS 1; resolves on PUBACK. Rejects when not connected (the caller republishes on the next connect). */
  publish(topic: string, payload: string | Buffer, retain: boolean): Promise<void>;
  /** Subscribes now if connected and again after every reconnect (QoS 1). */
  subscribe(filter: string): void;
  onMessage(listener: (topic: string, payload: Buffer, retained: boolean) => void): () => void;
}

export class MqttNotifier implements DeliveryChannel, MqttLink {
  readonly name = 'mqtt';
  readonly concurrency: number;
  readonly availabilityTopic: string;
  readonly statusTopic: string;
  readonly #options: ResolvedMqttOptions;
  readonly #logger: Logger;
  readonly #readyListeners = new Set<() => void>();
  readonly #messageListeners = new Set<(topic: string, payload: Buffer, retained: boolean) => void>();
  readonly #filters = new Set<string>();
  #client: MqttClient | undefined;
  /** Failed reconnect attempts since the last CONNACK (the backoff's exponent). */
  #attempts = 0;
  #status: string | undefined;
  #reachable = true;

  constructor(options: MqttNotifierOptions, logger: Logger) {
    this.#options = resolveMqttOptions(options);
    this.#logger = logger.child({ channel: 'mqtt' });
    this.concurrency = this.#options.inflight;
    this.availabilityTopic = `${this.gatewayBase}/availability`;
    this.statusTopic = `${this.gatewayBase}/status`;
  }

  get topicPrefix(): string {
    return this.#options.topicPrefix;
  }

  /** `<topicPrefix>/<gatewayId>`: where this gateway's own topics live (mail lives under `<topicPrefix>/terminals/`). */
  get gatewayBase(): string {
    return `${this.#options.topicPrefix}/${this.#options.gatewayId}`;
  }

  /** Starts connecting (and reconnecting) in the background; never throws for an unreachable broker. */
  start(): void {
    if (this.#client !== undefined) return;
    const o = this.#options;
    const client = mqtt.connect(o.url, {
      clientId: o.clientId,
      username: o.username,
      password: o.password,
      // mqtts/wss: the system's anchors plus the configured CA; a client certificate where the broker wants one.
      ...(o.ca ? { ca: [...tls.rootCertificates, o.ca] } : {}),
      ...(o.cert && o.key ? { cert: o.cert, key: o.key } : {}),
      clean: true, // what it must not lose is in the outbox; subscriptions are renewed on every connect
      reconnectPeriod: this.#nextDelay(),
      reconnectOnConnackError: true, // a refused login is retried too: the broker's users may be fixed meanwhile
      connectTimeout: o.connectTimeoutMs,
      keepalive: o.keepaliveSeconds,
      queueQoSZero: false,
      // Without this, mqtt-packet builds a cache of all 65 536 two-byte packet ids on the first
      // write: about 6 MiB of heap held for the process's life, for a client that publishes a few
      // messages a minute (measured by heap snapshot, docs/PERFORMANCE.md).
      writeCache: false,
      will: { topic: this.availabilityTopic, payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    // Events of a client that stop() already let go of are not news.
    client.on('connect', () => this.#client === client && this.#onConnect(client));
    client.on('error', (e: Error & { code?: unknown }) => this.#client === client && this.#onUnreachable(e.message, typeof e.code === 'number'));
    client.on('offline', () => this.#client === client && this.#onUnreachable('connection lost', false));
    client.on('reconnect', () => this.#client === client && this.#backOff(client));
    client.on('message', (topic, payload, packet) => {
      if (this.#client !== client) return;
      for (const listener of this.#messageListeners) listener(topic, payload, packet.retain);
    });
    this.#client = client;
  }

  /**
   * MQTT.js retries on a fixed interval timer; each attempt re-arms it with
   * the next backoff delay (its `_setupReconnect` reads `options.reconnectPeriod`).
   */
  #backOff(client: MqttClient): void {
    this.#attempts += 1;
    client.options.reconnectPeriod = this.#nextDelay();
    const timers = client as unknown as { _clearReconnect?: () => void; _setupReconnect?: () => void };
    timers._clearReconnect?.();
    timers._setupReconnect?.();
  }

  #nextDelay(): number {
    return reconnectDelay(this.#attempts, { baseMs: this.#options.reconnectPeriodMs, maxMs: this.#options.reconnectMaxMs });
  }

  publish(topic: string, payload: string | Buffer, retain: boolean): Promise<void> {
    if (!this.isReady()) return Promise.reject(new Error('The MQTT channel is not connected'));
    return this.#publish(topic, payload, retain);
  }

  subscribe(filter: string): void {
    this.#filters.add(filter);
    const client = this.#client;
    if (client?.connected) this.#subscribeOn(client, [filter]);
  }

  onMessage(listener: (topic: string, payload: Buffer, retained: boolean) => void): () => void {
    this.#messageListeners.add(listener);
    return () => this.#messageListeners.delete(listener);
  }

  #subscribeOn(client: MqttClient, filters: string[]): void {
    if (filters.length === 0) return;
    client.subscribe(filters, { qos: 1 }, (err, granted) => {
      const refused = (granted ?? []).filter((g) => g.qos === 128).map((g) => g.topic);
      if (err || refused.length > 0) this.#logger.warn({ err: err?.message, refused }, 'MQTT subscription refused (check the ACL for the gateway user)');
    });
  }

  isReady(): boolean {
    return this.#client?.connected === true;
  }

  onReady(listener: () => void): () => void {
    this.#readyListeners.add(listener);
    return () => this.#readyListeners.delete(listener);
  }

  /** Resolves on PUBACK; rejects when the client is stopped first (the outbox keeps it). */
  send(n: Notification): Promise<void> {
    return this.#publish(mailTopic(this.#options.topicPrefix, n.terminalId), serializeNotification(n), false);
  }

  /**
   * Publishes the gateway status (retained, stable JSON) now if connected,
   * and again on every reconnect; resolves on PUBACK, or at once when offline.
   */
  async publishStatus(status: JsonValue): Promise<void> {
    this.#status = stableJson(status);
    if (this.isReady()) await this.#publish(this.statusTopic, this.#status, true);
  }

  /** Publishes `offline` (retained) when connected, then disconnects. Pending notifications stay in the outbox. */
  async stop(graceMs = 2000): Promise<void> {
    const client = this.#client;
    if (client === undefined) return;
    this.#client = undefined;
    let clean = client.connected;
    if (clean) {
      clean = await withTimeout(this.#publishOn(client, this.availabilityTopic, 'offline', true), graceMs);
    }
    // A clean DISCONNECT suppresses the will; publishes still awaiting PUBACK would block it, so they are cut.
    const force = !clean || Object.keys(client.outgoing).length > 0;
    await client.endAsync(force).catch(() => undefined);
  }

  #publish(topic: string, payload: string | Buffer, retain: boolean): Promise<void> {
    const client = this.#client;
    if (client === undefined) return Promise.reject(new Error('The MQTT channel is stopped'));
    return this.#publishOn(client, topic, payload, retain).then(() => undefined);
  }

  #publishOn(client: MqttClient, topic: string, payload: string | Buffer, retain: boolean): Promise<true> {
    return new Promise((resolve, reject) => {
      client.publish(topic, payload, { qos: 1, retain }, (err) => (err ? reject(err) : resolve(true)));
    });
  }

  #onConnect(client: MqttClient): void {
    if (!this.#reachable) this.#logger.info({ url: redact(this.#options.url) }, 'MQTT broker reachable again');
    else this.#logger.info({ url: redact(this.#options.url) }, 'Connected to the MQTT broker');
    this.#reachable = true;
    this.#attempts = 0;
    client.options.reconnectPeriod = this.#nextDelay();
    this.#subscribeOn(client, [...this.#filters]);
    const republish = [this.#publishOn(client, this.availabilityTopic, 'online', true)];
    if (this.#status !== undefined) republish.push(this.#publishOn(client, this.statusTopic, this.#status, true));
    Promise.all(republish).catch((e: unknown) => this.#logger.debug({ err: (e as Error).message }, 'Availability not acknowledged'));
    for (const listener of this.#readyListeners) listener();
  }

  /** Logged once per outage (then at debug), so a broker that is down for a day does not flood the log. */
  #onUnreachable(reason: string, refused: boolean): void {
    if (!this.#reachable) {
      this.#logger.debug({ reason }, 'MQTT broker still unreachable');
      return;
    }
    this.#reachable = false;
    const fields = { url: redact(this.#options.url), reason, retryInMs: this.#client?.options.reconnectPeriod };
    if (refused) this.#logger.error(fields, 'MQTT broker refused the gateway (check its user name, password and ACL); notifications stay in the outbox');
    else this.#logger.warn(fields, 'MQTT broker unreachable; notifications stay in the outbox until it is back');
  }
}

function redact(url: string): string {
  const u = new URL(url);
  if (u.password !== '') u.password = '***';
  return u.toString();
}

function withTimeout(p: Promise<true>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    p.then(
      () => resolve(true),
      () => resolve(false),
    ).finally(() => clearTimeout(timer));
  });
}
