/**
 * A payment's archive entry, which also keeps its mail (`mailed: false` until
 * delivered; the outbox holds the mail in memory only), is group-committed
 * (durable within 8 records or 1 s, card-io/base/durable/record-log.ts), so a power cut right
 * after the answer may take them from the gateway's files. This is what the
 * design leans on: the card's log holds the decision, the payment intent
 * (fsynced before the card paid) names the terminal, and the reconciliation
 * at the next start archives, presents and mails the decision again.
 *
 * A power cut is simulated the way it would leave the disk: the gateway
 * process is SIGKILLed and every byte the payment appended to the history
 * month and the outbox log is cut off (the files stay, as their names were
 * made durable when they were created).
 */
import { stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import type { AccessCard } from '../../card-io/access-card/access-card.js';
import { scanRecordLog } from '../../card-io/base/durable/record-log.js';
import { OUTBOX_LOG, OutboxState, parseOutboxRecord } from '../../gateway/notify/outbox-log.js';
import { SANDBOX_MARKET, startPurseHousehold } from '../helpers/household/index.js';

interface HistoryRow {
  kind: string;
  seq: number;
  orderId?: string;
  presented?: boolean;
}

const balanceOf = async (a: AccessCard) => ((await a.balance()) as { balance: number }).balance;
const historyOf = async (a: AccessCard) => ((await a.history()) as { entries: HistoryRow[] }).entries;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const sizeOf = (path: string) =>
  stat(path).then(
    (s) => s.size,
    () => 0,
  );

test('When a power cut takes the group-committed archive entry and mail of a payment, the next start archives, presents and mails it again from the card', async (t) => {
  const h = await startPurseHousehold(t, { gatewayProcess: true });
  const access = await h.accessCard();
  const start = await balanceOf(access);
  const order = await h.createOrder(access, 'mug');
  const month = join(h.dataDir, 'history', `${new Date().toISOString().slice(0, 7)}.jsonl`);
  const outbox = join(h.dataDir, 'outbox', OUTBOX_LOG);
  const before = { month: await sizeOf(month), outbox: await sizeOf(outbox) };

  const paid = (await access.pay(SANDBOX_MARKET, order.orderId)) as unknown as { record: { seq: number; cardId: string } };
  const id = `${paid.record.cardId}:decision:${paid.record.seq}`;
  await h.process!.kill('SIGKILL');
  t.true((await sizeOf(month)) > before.month, 'the payment was archived before the cut');
  await truncate(month, before.month);
  // A payment's mail rides on its archive entry, so the outbox log may not even exist; whatever it got is cut too.
  if ((await sizeOf(outbox)) > 0) await truncate(outbox, before.outbox);

  await h.process!.restart();
  const archived = await until('the decision archived and presented again', async () => {
    const e = (await historyOf(access)).find((x) => x.kind === 'decision' && x.orderId === order.orderId);
    return e?.presented ? e : undefined;
  });
  t.is(archived.seq, paid.record.seq);
  await until('the mail queued and delivered again', async () => {
    const state = new OutboxState(Number.MAX_SAFE_INTEGER);
    for (const r of (await scanRecordLog(outbox)).records) state.apply(parseOutboxRecord(r));
    return state.isDelivered(id) ? true : undefined;
  });
  t.is(await balanceOf(access), start - order.amount, 'one debit');
  t.like(await h.marketOrder(order.orderId), { status: 'paid', seq: paid.record.seq });
  t.is((await historyOf(access)).filter((e) => e.kind === 'decision' && e.orderId === order.orderId).length, 1, 'archived once');
});

test('When the gateway is SIGKILLed right after a payment, its archive entry has kept the mail, and after the next start the decision is marked mailed, once', async (t) => {
  const h = await startPurseHousehold(t, { gatewayProcess: true });
  const access = await h.accessCard();
  const start = await balanceOf(access);
  const order = await h.createOrder(access, 'mug');
  const month = join(h.dataDir, 'history', `${new Date().toISOString().slice(0, 7)}.jsonl`);
  const paid = (await access.pay(SANDBOX_MARKET, order.orderId)) as unknown as { record: { seq: number; cardId: string } };
  const id = `${paid.record.cardId}:decision:${paid.record.seq}`;
  await h.process!.kill('SIGKILL');
  // The archive entry (mailed: false, then maybe mailed: true) survives a crash of the process: it is in the page cache.
  const records = async () =>
    (await scanRecordLog(month)).records as Array<{ put?: { seq: number; mailed?: boolean }; key?: string; patch?: { mailed?: boolean } }>;
  t.true(
    (await records()).some((r) => r.put?.seq === paid.record.seq && r.put.mailed === false),
    'archived keeping its mail',
  );
  await h.process!.restart();
  await until('the decision marked mailed', async () => ((await records()).some((r) => r.key === id && r.patch?.mailed === true) ? true : undefined));
  t.is(await balanceOf(access), start - order.amount, 'one debit');
  t.is((await historyOf(access)).filter((e) => e.kind === 'decision' && e.orderId === order.orderId).length, 1, 'archived once');
  t.is((await records()).filter((r) => r.key === id && r.patch?.mailed === true).length, 1, 'marked mailed once');
});
