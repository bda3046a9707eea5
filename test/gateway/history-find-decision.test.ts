import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../card-io/base/log.js';
import { HistoryStore, type NewHistoryEntry } from '../../gateway/history/index.js';

const CARD = '0102030405060708';

function decision(seq: number, time: string, orderId: string, market = 'shop.example'): NewHistoryEntry {
  return { kind: 'decision', cardId: CARD, seq, market, orderId, amount: 100, currency: 'EUR', time, status: 'paid', signedRecord: 'AQID' };
}

test("findDecision finds an order's decision in whichever month holds it, by market in any case, after a reopen too", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'hg-history-find-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = await HistoryStore.open({ dir, logger: silentLogger });
  await store.append(decision(1, '2024-02-10T09:00:00Z', 'old-order'));
  for (let seq = 2; seq < 40; seq++) await store.append(decision(seq, `2025-0${1 + (seq % 6)}-05T09:00:00Z`, `order-${seq}`));
  await store.append({ kind: 'load', cardId: CARD, seq: 40, amount: 5000, currency: 'EUR', time: '2025-03-01T00:00:00Z' });

  for (const s of [store, await HistoryStore.open({ dir, logger: silentLogger })]) {
    t.is((await s.findDecision(CARD, 'SHOP.example', 'old-order'))?.seq, 1);
    t.is((await s.findDecision(CARD, 'shop.example', 'order-17'))?.seq, 17);
    t.is(await s.findDecision(CARD, 'other.example', 'order-17'), undefined, 'another market');
    t.is(await s.findDecision('0807060504030201', 'shop.example', 'order-17'), undefined, 'another card');
    t.is(await s.findDecision(CARD, 'shop.example', 'order-99'), undefined, 'an order never paid');
  }
});
