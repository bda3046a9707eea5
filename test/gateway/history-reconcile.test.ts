import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../card-io/base/log.js';
import { HistoryStore, reconcile, reconcileWithCard, type CardLogRecord, type HistoryEntry } from '../../gateway/history/index.js';

const CARD = '0102030405060708';
const NOW = new Date('2025-06-15T12:00:00Z');

function cardRecord(seq: number, extra: Partial<CardLogRecord> = {}): CardLogRecord {
  return {
    cardId: CARD,
    seq,
    market: 'shop.example',
    orderId: `order-${seq}`,
    amount: 100n * BigInt(seq),
    currency: 'EUR',
    time: (Date.UTC(2025, 5, 1) + seq * 3_600_000) / 1000,
    status: 'paid',
    signedRecord: Buffer.from(`paid-${seq}`).toString('base64'),
    ...extra,
  };
}

function archivedDecision(seq: number, extra: Partial<HistoryEntry> = {}): HistoryEntry {
  return {
    kind: 'decision',
    cardId: CARD,
    seq,
    market: 'shop.example',
    orderId: `order-${seq}`,
    amount: 100 * seq,
    currency: 'EUR',
    time: new Date(Date.UTC(2025, 5, 1) + seq * 3_600_000).toISOString(),
    status: 'paid',
    signedRecord: Buffer.from(`paid-${seq}`).toString('base64'),
    terminalId: 'a1b2c3d4e5f60718',
    presented: true,
    archivedAt: '2025-06-01T00:00:00.000Z',
    ...extra,
  };
}

async function openStore(t: { teardown(fn: () => Promise<void>): void }): Promise<HistoryStore> {
  const dir = await mkdtemp(join(tmpdir(), 'hg-history-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return HistoryStore.open({ dir: join(dir, 'history'), logger: silentLogger });
}

test('Card records the archive lacks are planned as decisions with the card time and signed record', (t) => {
  const plan = reconcile([cardRecord(2), cardRecord(1)], [archivedDecision(1)], NOW);
  t.deepEqual(plan.toUpdate, []);
  t.deepEqual(plan.toAppend, [
    {
      kind: 'decision',
      cardId: CARD,
      seq: 2,
      market: 'shop.example',
      orderId: 'order-2',
      amount: 200,
      currency: 'EUR',
      time: '2025-06-01T02:00:00.000Z',
      status: 'paid',
      signedRecord: Buffer.from('paid-2').toString('base64'),
      archivedAt: NOW.toISOString(),
    },
  ]);
});

test('A decision cancelled on the card updates the archived status and signature and adds one cancel entry', (t) => {
  const cancelled = Buffer.from('cancelled-1').toString('base64');
  const plan = reconcile([cardRecord(1, { status: 'cancelled', signedRecord: cancelled })], [archivedDecision(1)], NOW);
  t.deepEqual(plan.toUpdate, [{ key: `${CARD}:decision:1`, patch: { status: 'cancelled', signedRecord: cancelled } }]);
  t.is(plan.toAppend.length, 1);
  t.like(plan.toAppend[0], {
    kind: 'cancel',
    seq: 1,
    amount: 100,
    orderId: 'order-1',
    signedRecord: cancelled,
    terminalId: 'a1b2c3d4e5f60718',
    time: NOW.toISOString(),
  });
  t.false('status' in plan.toAppend[0]!);

  const withCancel = reconcile([cardRecord(1, { status: 'cancelled', signedRecord: cancelled })], [archivedDecision(1), { ...plan.toAppend[0]! }], NOW);
  t.is(withCancel.toAppend.length, 0, 'an existing cancel entry is not duplicated');
});

test('Archive entries that rolled off the card log are kept, never deleted', (t) => {
  const archived = [archivedDecision(1), archivedDecision(2, { status: 'cancelled' }), { ...archivedDecision(3), kind: 'load' as const, status: undefined }];
  const plan = reconcile([cardRecord(40)], archived, NOW);
  t.deepEqual(plan.toUpdate, []);
  t.deepEqual(
    plan.toAppend.map((e) => e.seq),
    [40],
  );
});

test('Reconciling with the card archives the log, and running it again changes nothing', async (t) => {
  const store = await openStore(t);
  await store.append(archivedDecision(1)); // rolled off the card since
  await store.append(archivedDecision(33));
  const cancelled = Buffer.from('cancelled-34').toString('base64');
  const cardLog = [cardRecord(35), cardRecord(34, { status: 'cancelled', signedRecord: cancelled }), cardRecord(33)];

  const first = await reconcileWithCard(store, cardLog, NOW);
  t.deepEqual(
    first.toAppend.map((e) => `${e.kind}:${e.seq}`),
    ['decision:35', 'decision:34', 'cancel:34'],
  );
  t.deepEqual(first.toUpdate, []);
  t.deepEqual(
    (await store.list()).map((e) => `${e.kind}:${e.seq}:${e.status ?? '-'}`),
    ['cancel:34:-', 'decision:35:paid', 'decision:34:cancelled', 'decision:33:paid', 'decision:1:paid'],
  );

  const bytes = store.bytesWritten;
  const second = await reconcileWithCard(store, cardLog, new Date('2025-06-16T00:00:00Z'));
  t.deepEqual(second, { toAppend: [], toUpdate: [] });
  t.is(store.bytesWritten, bytes, 'the second run writes nothing');

  // Later the market's cancel of 35 reaches the card: the archive follows the card.
  cardLog[0] = cardRecord(35, { status: 'cancelled', signedRecord: Buffer.from('cancelled-35').toString('base64') });
  const third = await reconcileWithCard(store, cardLog, NOW);
  t.deepEqual(
    third.toUpdate.map((u) => u.key),
    [`${CARD}:decision:35`],
  );
  t.like(await store.get(`${CARD}:decision:35`), { status: 'cancelled' });
  t.like(await store.get(`${CARD}:cancel:35`), { kind: 'cancel', amount: 3500 });
  t.like(await store.get(`${CARD}:decision:1`), { status: 'paid', presented: true });
});
