/**
 * The notifier's SMTP channel against a real SMTP peer (smtp-server).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { startEmbeddedBroker } from '../../gateway/notify/embedded-broker.js';
import { createNotification, type Notification } from '../../gateway/notify/notification.js';
import { createNotifier, type NotifierOptions } from '../../gateway/notify/notifier.js';
import { capturingLogger, delay } from '../helpers/link-probes.js';
import { header, mimeParts, startSmtpServer, type RunningSmtp } from '../helpers/smtp.js';
import { pendingIdsOnDisk, pendingOnDisk } from '../helpers/outbox-on-disk.js';

const CARD = '0a0b0c0d0e0f1011';

function decision(seq: number, mail = 'owner@home.example'): Notification {
  const record = {
    seq,
    cardId: CARD,
    market: 'shop.example',
    orderId: `order-${seq}`,
    amount: 1250,
    currency: 'EUR',
    time: '2025-03-01T10:00:00.000Z',
    status: 'paid' as const,
  };
  const signedRecord = Buffer.from('e1df5e', 'hex');
  return createNotification({ type: 'decision', cardId: CARD, seq, terminalId: 'c0ffee0000000001', mail, record, signedRecord, balance: 8750 });
}

async function notifierFor(t: ExecutionContext, smtp: RunningSmtp, extra: Partial<NotifierOptions> = {}) {
  const dataDir = await mkdtemp(join(tmpdir(), 'homegate-notify-smtp-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const notifier = await createNotifier({
    dataDir,
    smtp: { host: smtp.host, port: smtp.port, from: 'homegate@home.example', timeoutMs: 5000 },
    retry: { initialMs: 100, maxMs: 400 },
    ...extra,
  });
  t.teardown(() => notifier.stop());
  return { notifier, dataDir };
}

async function smtpServer(t: ExecutionContext, refuse?: string[]): Promise<RunningSmtp> {
  const smtp = await startSmtpServer({ refuse });
  t.teardown(() => smtp.stop());
  return smtp;
}

test('A decision is mailed to the owner with a readable summary and the notification JSON attached', async (t) => {
  const smtp = await smtpServer(t);
  const { notifier, dataDir } = await notifierFor(t, smtp);
  const n = decision(1);
  await notifier.notify(n);
  await notifier.flush(10_000);
  t.deepEqual(await pendingIdsOnDisk(dataDir), []);
  const [mail] = await smtp.waitForMails(1);
  t.deepEqual(mail!.to, ['owner@home.example']);
  t.is(mail!.from, 'homegate@home.example');
  const { headers, parts } = mimeParts(mail!.raw);
  t.is(header(headers, 'Subject'), 'homegate: payment of 12.50 EUR at shop.example');
  t.is(header(headers, 'X-Homegate-Notification-Id'), n.id);
  t.regex(header(headers, 'Message-ID') ?? '', /^<[0-9a-f]{32}@homegate>$/);
  const text = parts.find((p) => /text\/plain/i.test(header(p.headers, 'Content-Type') ?? ''))!.body;
  for (const expected of ['shop.example', 'order-1', '12.50 EUR', 'paid', '87.50 EUR', n.id]) t.true(text.includes(expected), expected);
  const json = parts.find((p) => /notification\.json/.test(p.headers))!.body;
  t.deepEqual(JSON.parse(json), n);
});

test('With the mail server down the notification stays pending, and is mailed once it is back', async (t) => {
  const smtp = await smtpServer(t);
  await smtp.stop();
  const logger = capturingLogger();
  const { notifier, dataDir } = await notifierFor(t, smtp, { logger });
  await notifier.notify(decision(2));
  await delay(600); // several attempts, each refused
  t.is(notifier.pending(), 1);
  t.is((await pendingIdsOnDisk(dataDir)).length, 1);
  t.true(logger.records.some((r) => r.level === 'warn' && r.fields.channel === 'smtp'));
  await smtp.start();
  await notifier.flush(10_000);
  const mails = await smtp.waitForMails(1);
  t.regex(mails[0]!.raw, /order-2/);
  await delay(300);
  t.is(smtp.mails.length, 1, 'mailed once');
});

test('A recipient the server refuses for good is given up loudly and does not hold back the next mail', async (t) => {
  const smtp = await smtpServer(t, ['gone@home.example']);
  const logger = capturingLogger();
  const { notifier } = await notifierFor(t, smtp, { logger });
  await notifier.notify(decision(3, 'gone@home.example'));
  await notifier.notify(decision(4));
  await notifier.flush(10_000);
  t.deepEqual(
    smtp.mails.map((m) => m.to),
    [['owner@home.example']],
  );
  t.true(logger.records.some((r) => r.level === 'error' && r.fields.id === decision(3).id));
});

test('With MQTT and SMTP, a notification stays in the outbox until both channels acknowledged', async (t) => {
  const smtp = await smtpServer(t);
  await smtp.stop();
  const broker = await startEmbeddedBroker({ port: 0 });
  t.teardown(() => broker.stop());
  const { notifier, dataDir } = await notifierFor(t, smtp, { mqtt: { url: broker.url, reconnectPeriodMs: 200 } });
  await notifier.notify(decision(5));
  const pendingInFile = async () => (await pendingOnDisk(dataDir)).get(decision(5).id) ?? [];
  for (const deadline = Date.now() + 10_000; (await pendingInFile()).includes('mqtt') && Date.now() < deadline; ) await delay(25);
  t.deepEqual(await pendingInFile(), ['smtp'], 'MQTT acknowledged: recorded, and the notification stays for SMTP');
  t.is(smtp.mails.length, 0);
  await smtp.start();
  await notifier.flush(10_000);
  t.deepEqual(await pendingIdsOnDisk(dataDir), []);
  t.is(smtp.mails.length, 1);
});
