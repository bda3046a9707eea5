/**
 * Payments end to end on a sandbox household running IN THIS PROCESS
 * (startSandboxHousehold: gateway, market, issuer, embedded MQTT broker; the
 * card emulator is its own process), with the demo terminal's access card:
 *
 *   order (POST /orders on a delegated session; not timed)
 *   → t0 → AccessCard.pay: GET /v1/whoami, POST /v1/purse/quote (shown
 *     before PIN2), then POST /v1/purse/pay (PIN2):
 *     the gateway journals the intent, the card signs the decision, the
 *     gateway archives it, queues the mail, presents it to the market
 *   → answer (decision + market accepted: `presented: true`)
 *   → the mail: an MQTT subscriber on the household broker, subscribed to the
 *     terminal's mail topic, notes when the notification with the decision's
 *     id (`<cardId>:decision:<seq>`) arrives.
 *
 * End to end = until both the answer and the mail are there. The mail is
 * queued before the market is presented the decision, so it may arrive
 * before the answer.
 *
 * Disk: /proc/self/io write_bytes from t0 until the month's history log
 * records the decision mailed (the last write), i.e. every file the gateway
 * writes for one payment: payment-intents.jsonl (one record), the month's
 * history log (three records: archive with `mailed: false`, `presented:
 * true`, `mailed: true`; the outbox holds the mail in memory only), and now and then
 * registry.json (lastSeen, at most once a minute). Nothing else in this
 * process writes to disk meanwhile (the market, issuer and broker keep their
 * state in memory; the emulator's card image is another process's).
 */
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { AccessCard, type PinSource } from '../../card-io/access-card/access-card.js';
import { loadTerminalProfile } from '../../card-io/access-card/terminal-profile.js';
import { silentLogger } from '../../card-io/base/log.js';
import { SANDBOX_CATALOGUE } from '../../deploy/sandbox/market/catalogue.js';
import { loadGatewayConfig } from '../../gateway/config/gateway-config.js';
import { terminalClientId } from '../../gateway/notify/broker-users.js';
import { OUTBOX_LOG, OutboxState, parseOutboxRecord } from '../../gateway/notify/outbox-log.js';
import { scanRecordLog } from '../../card-io/base/durable/record-log.js';
import { DEMO_PINS } from '../../deploy/sandbox/household/sandbox-card.js';
import { DEMO_TERMINAL } from '../../deploy/sandbox/household/sandbox-registry.js';
import { SANDBOX_MARKET, SANDBOX_PURSE, startSandboxHousehold, type SandboxPorts } from '../../deploy/sandbox/household/household.js';
import { delay } from '../helpers/link-probes.js';
import { fileBytes, msBetween, readWriteBytes, summarizeValues, type ValueSummary } from './purse-io.js';

const pins: PinSource = async (which) => (which === 'PIN1' ? DEMO_PINS.pin1 : DEMO_PINS.pin2);
const WAIT_MS = 30_000;
/** Pause before each spaced payment: longer than the record logs' group-commit delay (record-log.ts), so each starts with everything flushed. */
export const SPACED_MS = 1500;

export interface PaymentRunOptions {
  dataDir: string;
  ports: SandboxPorts;
  payments: number;
  warmup: number;
  /**
   * Payments after the measured ones, each started SPACED_MS after the last
   * one's mail was delivered: a household's pace, where every group commit
   * has been flushed before the next payment (default 0).
   */
  spaced?: number;
  /** Progress lines (stderr). */
  say: (line: string) => void;
}

export interface PaymentRunResult {
  item: { id: string; price: number; currency: string };
  payments: number;
  warmupPayments: number;
  topups: Array<{ beforePayment: number; amount: number; newBalance: number }>;
  latencyMs: {
    endToEnd: ValueSummary;
    gatewayAnswered: ValueSummary;
    mailArrived: ValueSummary;
    /** Mail arrival minus answer; negative: the mail came first. */
    mailAfterAnswer: ValueSummary;
    mailBeforeAnswerCount: number;
    /** Creating the order on a delegated session (authorize with PIN2 + POST /orders); before t0, not in the figures above. */
    orderCreation: ValueSummary;
  };
  marketAccepted: number;
  /** write_bytes per payment (t0 until the outbox log records the notification delivered), or null without /proc. */
  gatewayDiskWriteBytesPerPayment: ValueSummary | null;
  /** The same for the spaced payments, or null. */
  gatewayDiskWriteBytesPerSpacedPayment: ValueSummary | null;
  /** The gateway's files after the run, bytes: what the per-payment writes rewrite. */
  gatewayFilesAfterRun: Record<string, number | null>;
  purseAfterRun: Record<string, unknown>;
  /** Length (base64 characters) of the card's signed decision record in a real notification. */
  realSignedRecordBase64Chars: number | null;
  terminalId: string;
  cardId: string;
}

/** An MQTT subscriber on the terminal's mail topic; notes when each notification id first arrives. */
class MailObserver {
  readonly arrivals = new Map<string, { at: bigint; notification: Record<string, unknown> }>();
  readonly #waiters = new Map<string, () => void>();

  private constructor(readonly client: MqttClient) {}

  /** Logs in as the terminal (the broker admits only known users, a terminal only as its own mailbox client). */
  static async start(url: string, topic: string, login: { username: string; password: string }): Promise<MailObserver> {
    const { username, password } = login;
    const client = await mqtt.connectAsync(url, {
      clientId: terminalClientId(username),
      username,
      password,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
    });
    const observer = new MailObserver(client);
    client.on('message', (t, payload) => {
      const at = process.hrtime.bigint();
      if (t !== topic) return;
      let n: Record<string, unknown>;
      try {
        n = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
      } catch {
        return;
      }
      if (typeof n.id !== 'string' || observer.arrivals.has(n.id)) return;
      observer.arrivals.set(n.id, { at, notification: n });
      observer.#waiters.get(n.id)?.();
    });
    const [grant] = await client.subscribeAsync(topic, { qos: 1 });
    if (grant?.qos !== 1) throw new Error(`the broker did not grant QoS 1 on ${topic}`);
    return observer;
  }

  /** The arrival of notification `id`; rejects after `timeoutMs`. */
  waitFor(id: string, timeoutMs = WAIT_MS): Promise<{ at: bigint; notification: Record<string, unknown> }> {
    const seen = this.arrivals.get(id);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(id);
        reject(new Error(`no mail ${id} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.set(id, () => {
        clearTimeout(timer);
        this.#waiters.delete(id);
        resolve(this.arrivals.get(id)!);
      });
    });
  }

  stop(): Promise<void> {
    return this.client.endAsync();
  }
}

/** Resolves once the outbox log records notification `id` delivered: the last write its delivery makes (outbox.ts). */
async function outboxDrained(dataDir: string, id: string): Promise<void> {
  const path = join(dataDir, 'outbox', OUTBOX_LOG);
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const state = new OutboxState(Number.MAX_SAFE_INTEGER);
    for (const r of (await scanRecordLog(path)).records) state.apply(parseOutboxRecord(r));
    if (state.isDelivered(id)) return;
    if (Date.now() > deadline) throw new Error(`notification ${id} still in the outbox after ${WAIT_MS} ms`);
    await delay(2);
  }
}

/**
 * Resolves once the month's history log records decision `id` mailed: the last write a payment makes
 * (its mail is kept by the archive entry, which is marked once every channel acknowledged it; outbox.ts).
 */
async function decisionMailed(historyDir: string, id: string): Promise<void> {
  const path = join(historyDir, `${new Date().toISOString().slice(0, 7)}.jsonl`);
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const records = (await scanRecordLog(path)).records as Array<{ key?: string; patch?: { mailed?: boolean } }>;
    if (records.some((r) => r.key === id && r.patch?.mailed === true)) return;
    if (Date.now() > deadline) throw new Error(`decision ${id} not marked mailed after ${WAIT_MS} ms`);
    await delay(2);
  }
}

function num(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${what} is not a number: ${JSON.stringify(v)}`);
  return v;
}

export async function runPayments(o: PaymentRunOptions): Promise<PaymentRunResult> {
  const item = [...SANDBOX_CATALOGUE.items].sort((a, b) => a.price - b.price)[0]!;
  const spaced = o.spaced ?? 0;
  const total = o.warmup + o.payments + spaced;
  const household = await startSandboxHousehold({ dataDir: o.dataDir, ports: o.ports, logger: silentLogger, say: o.say });
  let observer: MailObserver | undefined;
  try {
    const config = await loadGatewayConfig(join(o.dataDir, 'gateway.json'));
    const profile = await loadTerminalProfile(join(o.dataDir, 'terminals', DEMO_TERMINAL.name));
    const card = new AccessCard(profile, pins);
    await card.unlock();
    const whoami = await card.gateway.get('/v1/whoami');
    const terminalId = String((whoami.terminal as { id?: unknown } | undefined)?.id);
    const mailbox = whoami.mailbox as { url?: string; topicPrefix?: string } | undefined;
    const topic = `${mailbox?.topicPrefix ?? config.mqtt?.topicPrefix ?? 'homegate'}/terminals/${terminalId}/mail`;
    if (profile.broker === undefined) throw new Error('the demo terminal profile has no broker login');
    observer = await MailObserver.start(household.mqttUrl, topic, profile.broker);

    // Money: the sandbox purse, its daily limit and the gateway's monthly top-up limits.
    const purse = await card.balance();
    let balance = num(purse.balance, 'balance');
    const dailyLeft = num(purse.dailyLimit, 'dailyLimit') - num(purse.spentToday, 'spentToday');
    const topupLeft = Math.min(config.emoney.terminalMonthlyTopupLimit, config.emoney.householdMonthlyTopupLimit);
    const need = total * item.price;
    if (need > dailyLeft || need > balance + Math.min(topupLeft, SANDBOX_PURSE.maxBalance)) {
      throw new Error(
        `${total} payments of ${item.id} (${need} cents) do not fit the sandbox purse: balance ${balance}, daily limit left ${dailyLeft}, ` +
          `monthly top-up left ${topupLeft} cents; lower HOMEGATE_BENCH_PAYMENTS`,
      );
    }

    const topups: PaymentRunResult['topups'] = [];
    let toppedUp = 0;
    const answered: number[] = [];
    const mailed: number[] = [];
    const endToEnd: number[] = [];
    const mailAfterAnswer: number[] = [];
    const orderMs: number[] = [];
    const writes: number[] = [];
    const spacedWrites: number[] = [];
    let accepted = 0;
    let cardId = '';
    let realSignedRecordBase64Chars: number | null = null;

    for (let i = 0; i < total; i++) {
      const isSpaced = i >= o.warmup + o.payments;
      const measured = i >= o.warmup && !isSpaced;
      if (balance < item.price) {
        // Top up (untimed) what the rest of the run needs, in whole euros, within the limits.
        const amount = Math.min(Math.ceil(((total - i) * item.price - balance) / 100) * 100, topupLeft - toppedUp, SANDBOX_PURSE.maxBalance - balance);
        if (balance + amount < item.price) throw new Error(`the purse ran low (${balance} cents) and no top-up is left within the limits`);
        const { load } = (await card.topup(amount)) as { load: { cardId: string; counter: number; newBalance: number } };
        toppedUp += amount;
        balance = load.newBalance;
        topups.push({ beforePayment: i - o.warmup, amount, newBalance: load.newBalance });
        await observer.waitFor(`${load.cardId}:topup:${load.counter}`);
        await outboxDrained(o.dataDir, `${load.cardId}:topup:${load.counter}`);
      }

      const tOrder = process.hrtime.bigint();
      const { response } = await card.request(SANDBOX_MARKET, { method: 'POST', path: '/orders', body: JSON.stringify({ item: item.id, quantity: 1 }) });
      const order = JSON.parse(response.body.toString('utf8')) as { orderId?: string; amount?: number };
      if (response.status !== 200 || typeof order.orderId !== 'string')
        throw new Error(`the market did not create the order (${response.status}): ${response.body.toString('utf8')}`);
      const tOrdered = process.hrtime.bigint();

      if (isSpaced) await delay(SPACED_MS);
      const io0 = readWriteBytes();
      const t0 = process.hrtime.bigint();
      const paid = (await card.pay(SANDBOX_MARKET, order.orderId)) as {
        record: { seq: number; cardId: string; orderId: string; amount: number };
        presented: boolean;
      };
      const tAnswer = process.hrtime.bigint();
      const id = `${paid.record.cardId}:decision:${paid.record.seq}`;
      const mail = await observer.waitFor(id);
      if ((mail.notification.record as { orderId?: unknown } | undefined)?.orderId !== order.orderId) throw new Error(`mail ${id} names another order`);
      await decisionMailed(join(o.dataDir, config.historyDir), id);
      const io1 = readWriteBytes();
      balance -= paid.record.amount;
      cardId = paid.record.cardId;
      realSignedRecordBase64Chars ??= typeof mail.notification.signedRecord === 'string' ? mail.notification.signedRecord.length : null;
      if (isSpaced && io0 !== null && io1 !== null) spacedWrites.push(io1 - io0);
      if (!measured) continue;

      orderMs.push(msBetween(tOrder, tOrdered));
      answered.push(msBetween(t0, tAnswer));
      mailed.push(msBetween(t0, mail.at));
      endToEnd.push(msBetween(t0, later(tAnswer, mail.at)));
      mailAfterAnswer.push(msBetween(tAnswer, mail.at));
      if (paid.presented) accepted++;
      if (io0 !== null && io1 !== null) writes.push(io1 - io0);
      if ((i - o.warmup + 1) % 10 === 0) o.say(`${i - o.warmup + 1}/${o.payments} payments`);
    }

    const month = new Date().toISOString().slice(0, 7);
    const data = (p: string) => fileBytes(join(o.dataDir, p));
    return {
      item: { id: item.id, price: item.price, currency: item.currency },
      payments: o.payments,
      warmupPayments: o.warmup,
      topups,
      latencyMs: {
        endToEnd: summarizeValues(endToEnd),
        gatewayAnswered: summarizeValues(answered),
        mailArrived: summarizeValues(mailed),
        mailAfterAnswer: summarizeValues(mailAfterAnswer),
        mailBeforeAnswerCount: mailAfterAnswer.filter((x) => x < 0).length,
        orderCreation: summarizeValues(orderMs),
      },
      marketAccepted: accepted,
      gatewayDiskWriteBytesPerPayment: writes.length === answered.length ? summarizeValues(writes, 0) : null,
      gatewayDiskWriteBytesPerSpacedPayment: spaced > 0 && spacedWrites.length === spaced ? summarizeValues(spacedWrites, 0) : null,
      gatewayFilesAfterRun: {
        [`${config.historyDir}/${month}.jsonl`]: await data(join(config.historyDir, `${month}.jsonl`)),
        [`${config.historyDir}/index.json`]: await data(join(config.historyDir, 'index.json')),
        'payment-intents.jsonl': await data('payment-intents.jsonl'),
        [`outbox/${OUTBOX_LOG}`]: await data(join('outbox', OUTBOX_LOG)),
        [config.registryFile]: await data(config.registryFile),
      },
      purseAfterRun: await card.balance(),
      realSignedRecordBase64Chars,
      terminalId,
      cardId,
    };
  } finally {
    await observer?.stop().catch(() => undefined);
    await household.stop();
  }
}

/** The later of two hrtime stamps (bigint: Math.max does not take them). */
function later(a: bigint, b: bigint): bigint {
  if (a > b) return a;
  return b;
}
