/**
 * The purse's mail end to end (claim 4: every decision is mailed to the
 * terminal's owner), with real peers started by the test:
 *
 * - a real Mosquitto (persistence on) as the household's external broker:
 *   payments made while it is down succeed (money and archive do not depend
 *   on the broker), and once it is back every notification reaches the
 *   terminal's mailbox, through the persistent session the terminal opened
 *   before the outage, exactly once after dedupe by id;
 * - a real SMTP server (smtp-server): the gateway, configured with it (the
 *   sandbox's configuration plus an `smtp` section, the gateway rebuilt from
 *   it in the test process), mails a payment to the terminal's registered
 *   address, with the decision in the text and the card-signed record in the
 *   attached notification.json.
 */
import test from 'ava';
import { isMailboxError, readMailbox } from '../../card-io/access-card/mailbox.js';
import { parseSignedRecord, verifySignedRecord } from '../../card-io/home-card/decision-record.js';
import { needsBinary } from '../helpers/binaries.js';
import { serialWhen, SANDBOX_MARKET, mailLoginFor, readMailUntil, startPurseHousehold } from '../helpers/household/index.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { header, mimeParts, startSmtpServer } from '../helpers/smtp.js';

const mosquitto = needsBinary('mosquitto');

interface Decision {
  record: { seq: number; orderId: string; amount: number; status: string };
}

serialWhen(mosquitto)(
  'With Mosquitto as the household broker, two payments made while it is down succeed, and after it is back both notifications reach the ' +
    "terminal's persistent mailbox exactly once",
  async (t) => {
    const broker = await startMosquitto();
    t.teardown(() => broker.dispose());
    const h = await startPurseHousehold(t, { mqttUrl: broker.url });
    const access = await h.accessCard();
    const seen = new Set<string>();

    // The terminal's persistent session, opened before anything is mailed.
    const opened = await readMailbox({ url: broker.url, terminalId: h.terminalId, ...mailLoginFor(h.terminalId), idleMs: 300 });
    t.is(opened.messages.length, 0);
    // A payment while the broker is up arrives at once.
    const before = await h.createOrder(access, 'tea-100g');
    const paid0 = (await access.pay(SANDBOX_MARKET, before.orderId)) as unknown as Decision;
    const id0 = `${h.cardId}:decision:${paid0.record.seq}`;
    const read0 = await readMailUntil({ url: broker.url, terminalId: h.terminalId, seen, want: [id0] });
    t.deepEqual(
      read0.messages.map((m) => m.id),
      [id0],
    );

    // The outage: two payments, both succeed.
    const orders = [await h.createOrder(access, 'coffee-250g'), await h.createOrder(access, 'mug')];
    const balanceBefore = ((await access.balance()) as { balance: number }).balance;
    await broker.stop();
    const down = await readMailbox({ url: broker.url, terminalId: h.terminalId, ...mailLoginFor(h.terminalId), connectTimeoutMs: 1000 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    t.true(isMailboxError(down, 'broker-unreachable'), 'the broker is really down');
    const paid: Decision[] = [];
    for (const o of orders) paid.push((await access.pay(SANDBOX_MARKET, o.orderId)) as unknown as Decision);
    t.deepEqual(
      paid.map((p) => p.record.status),
      ['paid', 'paid'],
    );
    t.is(((await access.balance()) as { balance: number }).balance, balanceBefore - 790 - 1250, 'the card paid both');
    const archived = ((await access.history()) as { entries: Array<{ kind: string; seq: number }> }).entries;
    for (const p of paid)
      t.true(
        archived.some((e) => e.kind === 'decision' && e.seq === p.record.seq),
        `decision ${p.record.seq} is archived`,
      );
    for (const o of orders) t.is((await h.marketOrder(o.orderId)).status, 'paid');

    // The broker is back on the same port, with its persistence: the gateway's outbox delivers, the mailbox receives.
    await broker.start();
    const ids = paid.map((p) => `${h.cardId}:decision:${p.record.seq}`);
    const after = await readMailUntil({ url: broker.url, terminalId: h.terminalId, seen, want: ids, timeoutMs: 30_000 });
    t.deepEqual(after.messages.map((m) => m.id).sort(), [...ids].sort(), 'each notification once, after dedupe by id');
    for (const m of after.messages) {
      t.true(verifySignedRecord(parseSignedRecord(Buffer.from(String(m.notification.signedRecord), 'base64')), h.cardPublicKey));
    }
    // Nothing more comes later (a redelivery would be dropped by id: counted, not shown).
    const later = await readMailbox({ url: broker.url, terminalId: h.terminalId, ...mailLoginFor(h.terminalId), seen, idleMs: 1000 });
    t.true(later.sessionPresent);
    t.deepEqual(later.messages, []);
    t.log(`redeliveries dropped by id: ${after.duplicates + later.duplicates}`);
  },
);

test.serial(
  "With an SMTP server configured, a payment is mailed to the terminal's registered address " + 'with the decision and the card-signed record',
  async (t) => {
    const smtp = await startSmtpServer();
    t.teardown(() => smtp.stop());
    const h = await startPurseHousehold(t, {
      configure: (c) => {
        c.smtp = { host: smtp.host, port: smtp.port, secure: false, from: 'homegate@household.example' };
      },
    });
    const access = await h.accessCard();
    const order = await h.createOrder(access, 'mug');
    const paid = (await access.pay(SANDBOX_MARKET, order.orderId)) as unknown as Decision;
    const id = `${h.cardId}:decision:${paid.record.seq}`;

    const [mail] = await smtp.waitForMails(1, 20_000);
    t.deepEqual(mail!.to, [h.terminalMail], "to the terminal's registered address");
    t.is(mail!.from, 'homegate@household.example');
    const { headers, parts } = mimeParts(mail!.raw);
    t.is(header(headers, 'X-Homegate-Notification-Id'), id);
    t.regex(header(headers, 'Subject') ?? '', /12\.50 EUR/);
    const text = parts.find((p) => /text\/plain/i.test(header(p.headers, 'Content-Type') ?? ''))!.body;
    t.regex(text, new RegExp(`Order:\\s+${order.orderId}`));
    t.regex(text, /Amount:\s+12\.50 EUR/);
    t.regex(text, /Status:\s+paid/);
    t.regex(text, new RegExp(`Sequence:\\s+${paid.record.seq}\\b`));
    t.regex(text, new RegExp(`Market:\\s+${h.marketServerName}`));
    const attachment = parts.find((p) => /notification\.json/.test(p.headers))!;
    const n = JSON.parse(attachment.body) as { id: string; type: string; mail: string; record: { orderId: string; amount: number }; signedRecord: string };
    t.like(n, { id, type: 'decision', mail: h.terminalMail, record: { orderId: order.orderId, amount: 1250 } });
    const record = parseSignedRecord(Buffer.from(n.signedRecord, 'base64'));
    t.true(verifySignedRecord(record, h.cardPublicKey), 'the mailed record verifies with the card certificate');
    t.like(record, { seq: paid.record.seq, orderId: order.orderId, status: 'paid' });
    // One payment, one mail (the channel marks it delivered; nothing is resent).
    await new Promise((r) => setTimeout(r, 1000));
    t.is(smtp.mails.length, 1);
  },
);
