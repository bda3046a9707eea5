/**
 * The purse end to end (claims 4, 5, 6), through the access card library
 * against a sandbox household: the card emulator is its own process on a TCP
 * line, the gateway, market, issuer and embedded MQTT broker run in the test
 * process, and everything talks over real sockets.
 *
 * An order is created at the market on the session the gateway handed over,
 * paid with PIN2, cancelled with the market's authorization and the purse
 * topped up with the issuer's; after each step the card's balance, the
 * market's order, the gateway's archive and the terminal's mailbox (the
 * signed evidence verifying with the card certificate) are checked.
 */
import test from 'ava';
import type { MailMessage } from '../../card-io/access-card/mailbox.js';
import { parseSignedRecord, verifySignedRecord } from '../../card-io/home-card/decision-record.js';
import { parseLoadReceipt, verifyLoadReceipt } from '../../card-io/home-card/load-receipt.js';
import { SANDBOX_MARKET, SANDBOX_PURSE, readMailUntil, recordingPins, startPurseHousehold } from '../helpers/household/index.js';

interface Decision {
  record: { seq: number; cardId: string; market: string; orderId: string; amount: number; currency: string; time: string; status: string };
  presented?: boolean;
}

interface HistoryRow {
  kind: string;
  seq: number;
  orderId?: string;
  amount: number;
  status?: string;
  terminalId?: string;
  signedRecord?: string;
  presented?: boolean;
}

function only(messages: MailMessage[], id: string): Record<string, unknown> {
  const found = messages.filter((m) => m.id === id);
  if (found.length !== 1) throw new Error(`expected exactly one notification ${id}, got ${messages.map((m) => m.id).join(', ') || 'none'}`);
  return found[0]!.notification;
}

test.serial(
  "A terminal creates an order on the handed session, pays it with PIN2, cancels it with the market's authorization and tops up with the " +
    "issuer's; card, market, archive and mailbox agree at every step",
  async (t) => {
    const h = await startPurseHousehold(t);
    const pins = recordingPins();
    const access = await h.accessCard(pins);
    const mailbox = { url: h.mqttUrl, terminalId: h.terminalId, seen: new Set<string>() };

    const start = (await access.balance()) as { balance: number; currency: string; perPaymentLimit: number };
    t.is(start.balance, SANDBOX_PURSE.initialBalance);
    t.is(start.currency, 'EUR');
    t.deepEqual(pins.asked, ['PIN1'], 'the balance needs the card session (PIN1), not PIN2');

    // ---- an order at the market, over the resumed session (claim 7)
    const order = await h.createOrder(access, 'mug');
    t.deepEqual(pins.asked, ['PIN1', 'PIN2'], 'the market session needs PIN2');
    t.is(order.amount, 1250);
    t.is(order.status, 'open');
    t.is((await h.marketOrder(order.orderId)).status, 'open');

    // ---- pay (claim 4)
    const paid = (await access.pay(SANDBOX_MARKET, order.orderId)) as unknown as Decision;
    t.deepEqual(pins.asked, ['PIN1', 'PIN2', 'PIN2'], 'a payment asks PIN2 again');
    const seq = paid.record.seq;
    t.like(paid.record, { cardId: h.cardId, market: h.marketServerName, orderId: order.orderId, amount: 1250, currency: 'EUR', status: 'paid' });
    t.true(paid.presented, 'the market acknowledged the decision at once');
    t.is(((await access.balance()) as { balance: number }).balance, SANDBOX_PURSE.initialBalance - 1250, 'the card debited the amount');
    t.like(await h.marketOrder(order.orderId), { status: 'paid', seq, cardId: h.cardId });

    const afterPay = ((await access.history()) as { entries: HistoryRow[] }).entries;
    const decision = afterPay.find((e) => e.kind === 'decision' && e.seq === seq);
    t.like(decision, { orderId: order.orderId, amount: 1250, status: 'paid', terminalId: h.terminalId, presented: true });
    const archived = parseSignedRecord(Buffer.from(decision!.signedRecord!, 'base64'));
    t.true(verifySignedRecord(archived, h.cardPublicKey), 'the archive keeps the card-signed record');

    const decisionId = `${h.cardId}:decision:${seq}`;
    const mail1 = await readMailUntil({ ...mailbox, want: [decisionId] });
    const n1 = only(mail1.messages, decisionId);
    t.is(n1.type, 'decision');
    t.is(n1.mail, h.terminalMail);
    t.is(n1.cardCertificate, h.cardCertificate.toString('base64'), 'the notification carries the card certificate');
    const signed1 = parseSignedRecord(Buffer.from(String(n1.signedRecord), 'base64'));
    t.true(verifySignedRecord(signed1, h.cardPublicKey), 'the mailed record verifies with the card certificate');
    t.like(signed1, { seq, cardId: h.cardId, market: h.marketServerName, orderId: order.orderId, status: 'paid', currency: 'EUR' });
    t.is(BigInt(signed1.amount), 1250n);
    t.like(n1.record, { seq, orderId: order.orderId, amount: 1250, status: 'paid' });

    // ---- cancel (claim 5): the market authorizes, the card refunds
    const cancelled = (await access.cancel(seq)) as unknown as Decision;
    t.like(cancelled.record, { seq, orderId: order.orderId, amount: 1250, status: 'cancelled' });
    t.is(((await access.balance()) as { balance: number }).balance, SANDBOX_PURSE.initialBalance, 'the card credited the amount back');
    t.is((await h.marketOrder(order.orderId)).status, 'cancelled');
    const afterCancel = ((await access.history()) as { entries: HistoryRow[] }).entries;
    t.like(
      afterCancel.find((e) => e.kind === 'decision' && e.seq === seq),
      { status: 'cancelled' },
    );
    t.like(
      afterCancel.find((e) => e.kind === 'cancel' && e.seq === seq),
      { orderId: order.orderId, amount: 1250, terminalId: h.terminalId },
    );

    const cancelId = `${h.cardId}:cancel:${seq}`;
    const mail2 = await readMailUntil({ ...mailbox, want: [cancelId] });
    const n2 = only(mail2.messages, cancelId);
    t.is(n2.type, 'cancel');
    const signed2 = parseSignedRecord(Buffer.from(String(n2.signedRecord), 'base64'));
    t.true(verifySignedRecord(signed2, h.cardPublicKey), 'the re-signed (cancelled) record verifies with the card certificate');
    t.like(signed2, { seq, orderId: order.orderId, status: 'cancelled' });

    // ---- top up (claim 6): the issuer authorizes, the card loads
    const accountBefore = h.sandbox.issuer.account(h.issuerHousehold)!.balance;
    const loaded = (await access.topup(2000)) as { load: { cardId: string; counter: number; amount: number; currency: string; newBalance: number } };
    t.like(loaded.load, { cardId: h.cardId, amount: 2000, currency: 'EUR', newBalance: SANDBOX_PURSE.initialBalance + 2000 });
    t.is(((await access.balance()) as { balance: number }).balance, SANDBOX_PURSE.initialBalance + 2000);
    t.is(h.sandbox.issuer.account(h.issuerHousehold)!.balance, accountBefore - 2000, 'the household account at the issuer paid for it');
    const afterLoad = ((await access.history()) as { entries: HistoryRow[] }).entries;
    t.like(
      afterLoad.find((e) => e.kind === 'load'),
      { seq: loaded.load.counter, amount: 2000, terminalId: h.terminalId },
    );

    const topupId = `${h.cardId}:topup:${loaded.load.counter}`;
    const mail3 = await readMailUntil({ ...mailbox, want: [topupId] });
    const n3 = only(mail3.messages, topupId);
    t.is(n3.type, 'topup');
    t.like(n3.load, { amount: 2000, newBalance: SANDBOX_PURSE.initialBalance + 2000, counter: loaded.load.counter });
    const receipt = parseLoadReceipt(Buffer.from(String(n3.signedRecord), 'base64'));
    t.true(verifyLoadReceipt(receipt, h.cardPublicKey), 'the mailed load receipt verifies with the card certificate');
    t.is(BigInt(receipt.balance), BigInt(SANDBOX_PURSE.initialBalance + 2000));

    // Each event was mailed once: three reads, three notifications, nothing else.
    t.deepEqual([...mailbox.seen].sort(), [decisionId, cancelId, topupId].sort());
    t.is(mail1.duplicates + mail2.duplicates + mail3.duplicates, 0);
  },
);
