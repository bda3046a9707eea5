/**
 * The dashboard over MQTT (docs/MQTT.md): folds the gateway's event bus into
 * the retained `state` (coalesced), forwards events to `events`, answers
 * requests and publishes Home Assistant discovery, all on the gateway's one
 * MQTT connection (MqttLink, the notifier's).
 *
 * Resilience: on every CONNACK (first connect, reconnect after an outage, a
 * broker restarted without its retained store) discovery and state are
 * published again after `online`; the subscriptions are renewed by the link.
 * While the broker is away nothing waits on it: state changes are folded in
 * memory and published on the next connect, events of the outage are not
 * replayed (the mail outbox keeps what must not be lost). Home Assistant's
 * birth message (`homeassistant/status` = online) republishes discovery and
 * state too, as its docs ask of integrations.
 */
import type { Logger } from '../../card-io/base/log.js';
import type { GatewayEventName, GatewayEvents } from '../events/gateway-events.js';
import type { MqttLink } from '../notify/mqtt-notifier.js';
import { EventLimiter, eventMessage } from './dashboard-events.js';
import { DashboardRequests, type CommandHandlers } from './dashboard-requests.js';
import { DashboardState } from './dashboard-state.js';
import { dashboardTopics, type DashboardTopics } from './dashboard-topics.js';
import { discoveryPayload } from './ha-discovery.js';
import { StateCoalescer } from './state-coalescer.js';

/** How long the panel's attention LED blinks for `identify`, s. */
export const IDENTIFY_SECONDS = 10;
/**
 * Minimum ms between two republishes asked from outside (`refresh`, Home
 * Assistant's birth message): each one is the whole discovery document and
 * the state, retained, so a client repeating them must not flood the broker.
 * A burst gets one republish at once and one at the end of the window.
 */
export const REPUBLISH_INTERVAL_MS = 1000;

export interface DashboardOptions {
  link: MqttLink;
  events: GatewayEvents;
  logger: Logger;
  version: string;
  /** Home Assistant's discovery prefix. Default homeassistant. */
  discoveryPrefix?: string;
  /** Publish HA discovery. Default true. */
  discovery?: boolean;
  publishBalance?: boolean;
  /** Minimum ms between two `state` publishes. Default 250. */
  stateIntervalMs?: number;
  /** The purse's currency (HA's unit of the monetary sensors). Default EUR. */
  currency?: string;
  configurationUrl?: string;
  /** What is known at start, before any event. */
  seed?: Parameters<DashboardState['seed']>[0];
  /** Ends every terminal's card session; resolves with how many were open. */
  lockCard(): Promise<number>;
  /** Ends the mail outbox's backoff wait; returns its depth. */
  retryOutbox(): number;
  clock?: () => number;
}

export class Dashboard {
  readonly topics: DashboardTopics;
  readonly state: DashboardState;
  /** `state` messages published so far (for tests and the benchmark). */
  statePublishes = 0;
  /** Bursty events left off the `events` topic (EventLimiter). */
  get eventsDropped(): number {
    return this.#limiter.dropped;
  }
  readonly #o: DashboardOptions;
  readonly #coalescer: StateCoalescer;
  readonly #republisher: StateCoalescer;
  /** Discovery documents published so far (for tests). */
  discoveryPublishes = 0;
  readonly #requests: DashboardRequests;
  readonly #offs: (() => void)[] = [];
  readonly #clock: () => number;
  readonly #limiter: EventLimiter;
  #lastState: string | undefined;
  /** The purse's currency: the unit of the monetary sensors in discovery. */
  #currency: string;

  constructor(o: DashboardOptions) {
    this.#o = o;
    this.#clock = o.clock ?? Date.now;
    this.#currency = o.currency ?? 'EUR';
    this.topics = dashboardTopics(o.link.gatewayBase, o.discoveryPrefix ?? 'homeassistant');
    this.state = new DashboardState(this.#clock);
    this.#limiter = new EventLimiter(this.#clock);
    if (o.seed) this.state.seed(o.seed);
    this.#coalescer = new StateCoalescer(o.stateIntervalMs ?? 250, () => this.#publishState());
    this.#republisher = new StateCoalescer(REPUBLISH_INTERVAL_MS, () => this.#republish());
    const handlers: CommandHandlers = {
      'lock-card': async () => ({ locked: await o.lockCard() }),
      refresh: async () => {
        this.#republisher.request();
        return {};
      },
      identify: async () => {
        o.events.emit('identify', { seconds: IDENTIFY_SECONDS });
        return { seconds: IDENTIFY_SECONDS };
      },
      'outbox/retry': async () => ({ depth: o.retryOutbox() }),
    };
    this.#requests = new DashboardRequests(handlers, this.#clock);
  }

  start(): void {
    const { link, events } = this.#o;
    this.#offs.push(
      events.onAny(({ name, payload }) => this.#onEvent(name, payload)),
      link.onReady(() => this.#republisher.now()), // a (re)connect: at once, whatever was asked before
      link.onMessage((topic, payload, retained) => this.#onMessage(topic, payload, retained)),
    );
    link.subscribe(this.topics.requests);
    if (this.#o.discovery !== false) link.subscribe(this.topics.homeAssistantStatus);
    if (link.isReady()) this.#republisher.now();
  }

  /** `off` runs at stop (a listener its builder added beside the dashboard's own). */
  onStop(off: () => void): void {
    this.#offs.push(off);
  }

  stop(): void {
    this.#coalescer.stop();
    this.#republisher.stop();
    for (const off of this.#offs.splice(0)) off();
  }

  /**
   * The purse as the card says (read when a card becomes usable): the balance for `state`, and the
   * currency, which is the monetary sensors' unit, so discovery is published again when it is not the one
   * announced (a purse in CHF must not show as EUR in Home Assistant).
   */
  cardPurse(balance: number, currency: string): void {
    if (this.state.purse(balance, currency)) this.#coalescer.request();
    this.#useCurrency(currency);
  }

  #useCurrency(currency: string): void {
    if (currency === this.#currency) return;
    this.#currency = currency;
    if (this.#o.discovery !== false) this.#republisher.request();
  }

  #onEvent(name: GatewayEventName, payload: unknown): void {
    if (this.state.apply(name, payload as never)) this.#coalescer.request();
    if (name === 'decision' || name === 'topup' || name === 'cancel') this.#useCurrency((payload as { currency: string }).currency);
    const message = eventMessage(name, payload, this.#clock(), this.#o.publishBalance === true);
    if (message !== undefined && this.#o.link.isReady() && this.#limiter.allow(name)) this.#publish(this.topics.events, message, false);
  }

  #onMessage(topic: string, payload: Buffer, retained: boolean): void {
    if (topic === this.topics.homeAssistantStatus) {
      if (payload.toString('utf8') === 'online') this.#republisher.request();
      return;
    }
    const command = this.topics.commandOf(topic);
    if (command === undefined) return;
    void this.#requests.handle(command, payload, retained).then((response) => {
      if (response === undefined) {
        this.#o.logger.warn({ topic }, 'retained request ignored (requests are acted on only when they arrive live)');
        return;
      }
      this.#o.logger.info({ command, status: response.status, code: response.error?.code }, 'dashboard request');
      if (this.#o.link.isReady()) this.#publish(this.topics.response(command), JSON.stringify(response), false);
    });
  }

  /** Discovery, then state at once (a connect, HA's birth, `refresh`). */
  #republish(): void {
    if (!this.#o.link.isReady()) return;
    if (this.#o.discovery !== false) {
      const payload = discoveryPayload({
        topics: this.topics,
        version: this.#o.version,
        publishBalance: this.#o.publishBalance === true,
        currency: this.#currency,
        ...(this.#o.configurationUrl ? { configurationUrl: this.#o.configurationUrl } : {}),
      });
      this.discoveryPublishes += 1;
      this.#publish(this.topics.discovery, JSON.stringify(payload), true);
    }
    this.#lastState = undefined;
    this.#coalescer.now();
  }

  #publishState(): void {
    if (!this.#o.link.isReady()) return; // published on the next connect
    const json = JSON.stringify(this.state.toJson(this.#o.publishBalance === true));
    if (json === this.#lastState) return;
    this.#lastState = json;
    this.statePublishes += 1;
    this.#publish(this.topics.state, json, true);
  }

  #publish(topic: string, payload: string, retain: boolean): void {
    this.#o.link
      .publish(topic, payload, retain)
      .catch((e: unknown) => this.#o.logger.debug({ topic, err: (e as Error).message }, 'dashboard publish not acknowledged'));
  }
}
