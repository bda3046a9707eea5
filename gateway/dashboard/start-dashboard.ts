/**
 * Builds the dashboard from the gateway's configuration and services, when
 * MQTT is configured: what is known at start (card line, enrolled
 * terminals, outbox) seeds the state, the card sessions give `lock-card`,
 * the notifier gives the connection and `outbox/retry`.
 */
import type { Logger } from '../../card-io/base/log.js';
import { absentAsUndefined } from '../../card-io/home-card/card-info.js';
import type { CardService } from '../card/card-service.js';
import type { CardSessions } from '../card/card-sessions.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import type { GatewayEvents } from '../events/gateway-events.js';
import type { Notifier } from '../notify/notifier.js';
import type { Registry } from '../registry/index.js';
import { GATEWAY_VERSION } from '../version.js';
import { Dashboard } from './dashboard.js';

export interface DashboardDeps {
  config: GatewayConfig;
  notifier: Notifier;
  events: GatewayEvents;
  sessions: CardSessions;
  registry: Registry;
  cards: CardService;
  logger: Logger;
  clock: () => number;
}

export function startDashboard(d: DashboardDeps): Dashboard | undefined {
  const m = d.config.mqtt;
  const link = d.notifier.mqtt;
  if (!m || !link) return undefined;
  const present = d.cards.status === 'present';
  const dashboard = new Dashboard({
    link,
    events: d.events,
    logger: d.logger.child({ channel: 'dashboard' }),
    version: GATEWAY_VERSION,
    discoveryPrefix: m.discoveryPrefix,
    discovery: m.discovery,
    publishBalance: m.publishBalance,
    stateIntervalMs: m.stateIntervalMs,
    ...(m.configurationUrl ? { configurationUrl: m.configurationUrl } : {}),
    seed: {
      present,
      ...(present && d.cards.cardId ? { cardId: d.cards.cardId } : {}),
      enrolled: d.registry.listTerminals().filter((t) => t.status === 'active').length,
      unlocked: d.sessions.openTerminals(),
      outbox: d.notifier.outboxStats(),
    },
    lockCard: () => d.sessions.lockAll('lock-card'),
    retryOutbox: () => {
      d.notifier.retryNow();
      return d.notifier.outboxStats().depth;
    },
    clock: d.clock,
  });
  dashboard.start();
  // What the card says, whenever a card becomes usable (at start, after a restart, an insertion or another
  // card): the tries left as it counts them (otherwise the state says nothing about them, and a PIN1 blocked
  // before a restart shows `locked` until a wrong try happens to tell), and its purse (balance, currency).
  // DF03 and the purse status cost no try and need no PIN (PROTOCOL.md).
  const readCard = () =>
    void d.cards
      .exclusive(async (card) => ({ tries: await card.retryCounters(), purse: await absentAsUndefined(() => card.purseStatus()) }))
      .then(({ tries, purse }) => {
        d.events.emit('pin-tries', { pin: 1, triesLeft: tries.pin1.left });
        d.events.emit('pin-tries', { pin: 2, triesLeft: tries.pin2.left });
        if (purse) dashboard.cardPurse(Number(purse.balance), purse.currency);
      })
      .catch((e: unknown) => d.logger.debug({ err: (e as Error).message }, 'card not read for the dashboard'));
  dashboard.onStop(d.events.on('card-activated', readCard));
  if (present) readCard();
  return dashboard;
}
