/**
 * Builds the purse side of the gateway from its configuration: history,
 * payment intents, notifier (durable outbox → MQTT / SMTP), the issuer
 * client, the e-money manager; reconciles with the card at start and on each
 * card insertion, and presents unacknowledged decisions periodically.
 */
import type { Logger } from '../../card-io/base/log.js';
import type { CardService } from '../card/card-service.js';
import type { CardSessions } from '../card/card-sessions.js';
import { dataPath, type GatewayConfig } from '../config/gateway-config.js';
import { HistoryStore } from '../history/index.js';
import { readMqttConnection } from '../notify/mqtt-connection.js';
import { createNotifier, type Notifier } from '../notify/notifier.js';
import { smtpOptionsFromConfig } from '../notify/smtp-options.js';
import type { ProxyState } from '../proxy/index.js';
import type { Registry } from '../registry/index.js';
import { ArchiveGuard } from './archive-guard.js';
import { EmoneyManager } from './emoney-manager.js';
import { reconcileCard } from './emoney-reconciler.js';
import { WriteGate } from '../backup/write-gate.js';
import { IssuerClient } from './issuer-client.js';
import { LoadIntents, PaymentIntents } from './payment-intents.js';
import { readSecretFile } from '../../card-io/base/durable/secret-file.js';
import type { GatewayEvents } from '../events/gateway-events.js';
import type { Confirmation } from './confirmation.js';

export interface PurseDeps {
  dataDir: string;
  config: GatewayConfig;
  registry: Registry;
  cards: CardService;
  sessions: CardSessions;
  proxyState: ProxyState;
  logger: Logger;
  clock: () => number;
  /** Where decisions, cancels, top-ups and the outbox depth are announced. */
  events?: GatewayEvents;
  /** The panel's confirm button for large amounts; absent on a headless gateway. */
  confirmation?: Confirmation;
}

async function secret(dataDir: string, file: string | undefined): Promise<string | undefined> {
  return file ? (await readSecretFile(dataPath(dataDir, file))).toString('utf8').trim() : undefined;
}

export async function startPurse(
  d: PurseDeps,
): Promise<{ manager: EmoneyManager; notifier: Notifier; guard: ArchiveGuard; gate: WriteGate; stop(): Promise<void> }> {
  const { config, dataDir, logger } = d;
  const p = (f: string) => dataPath(dataDir, f);
  const history = await HistoryStore.open({ dir: p(config.historyDir), logger });
  const mqtt = config.mqtt ? await readMqttConnection(dataDir, config.mqtt) : undefined;
  const smtp = config.smtp ? smtpOptionsFromConfig(config.smtp, await secret(dataDir, config.smtp.passwordFile)) : undefined;
  const notifier = await createNotifier({ dataDir, mqtt, smtp, logger: logger.child({ channel: 'notify' }), ...(d.events ? { events: d.events } : {}) });
  const issuerCfg = config.emoney.issuer;
  const issuer = issuerCfg
    ? new IssuerClient({ url: issuerCfg.url, caFile: p(issuerCfg.caFile), certFile: p(issuerCfg.certFile), keyFile: p(issuerCfg.keyFile) })
    : undefined;
  const intents = new PaymentIntents(p('payment-intents.jsonl'), p('payment-intents.json'));
  const loads = new LoadIntents(p('load-intents.jsonl'), p('load-intents.json'));
  const guard = new ArchiveGuard(dataDir, history, logger);
  await guard.openJournals([
    { path: p('payment-intents.jsonl'), open: () => intents.open() },
    { path: p('load-intents.jsonl'), open: () => loads.open() },
  ]);
  const unguarded = new EmoneyManager({
    registry: d.registry,
    cards: d.cards,
    sessions: d.sessions,
    history,
    intents,
    loads,
    mailer: notifier,
    proxyState: d.proxyState,
    issuer,
    limits: { householdMonthly: config.emoney.householdMonthlyTopupLimit, terminalMonthly: config.emoney.terminalMonthlyTopupLimit },
    logger,
    clock: d.clock,
    ...(d.events ? { events: d.events, balanceInEvents: config.mqtt?.publishBalance === true } : {}),
    ...(d.confirmation ? { confirmation: d.confirmation } : {}),
  });
  // A backup's snapshot waits for these to finish and holds new ones back (backup/write-gate.ts).
  const gate = new WriteGate();
  const manager = gate.wrap(guard.wrap(unguarded, ['pay', 'cancel', 'topup']), ['pay', 'cancel', 'topup']);

  let stopped = false;
  let running: Promise<unknown> = Promise.resolve();
  const catchUp = () => {
    if (stopped || d.cards.status !== 'present') return;
    running = running
      .then(() => gate.shared(() => reconcileCard({ cards: d.cards, history, intents, loads, issuer, registry: d.registry, mailer: notifier, logger })))
      // Mails the archive keeps (EmoneyManager.archiveDecision) that a crash or a stop left undelivered.
      .then(() => gate.shared(() => manager.mailUnmailed()))
      .then(() => gate.shared(() => manager.presentPending()))
      .catch((e: unknown) => logger.warn({ err: (e as Error).message }, 'purse catch-up failed; will retry'));
  };
  const presentOnly = () => {
    if (stopped || d.cards.status !== 'present') return;
    running = running
      .then(() => gate.shared(() => manager.presentPending()))
      .catch((e: unknown) => logger.warn({ err: (e as Error).message }, 'presenting decisions failed; will retry'));
  };
  // Reading the card's whole log takes the card for ~33 commands: only at start and on insertion.
  const offReset = d.cards.onReset(() => setImmediate(catchUp));
  catchUp();
  const timer = setInterval(presentOnly, config.emoney.presentRetrySeconds * 1000);
  timer.unref();

  return {
    manager,
    notifier,
    guard,
    gate,
    async stop() {
      stopped = true;
      offReset();
      clearInterval(timer);
      await running;
      await notifier.stop();
    },
  };
}
