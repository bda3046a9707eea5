/**
 * A child process for the SIGKILL-mid-append tests: appends as fast as it can
 * to the file named in argv[3] and prints `n` to stdout once the n-th append
 * resolved (is durable). Killed from outside. argv[2] picks what appends:
 *   log <pad>   RecordLog records `{ n, pad }` (pad: bytes of padding)
 *   history     HistoryStore decisions with seq n (argv[3] is the history dir)
 *   intents     PaymentIntents for order `order-n`
 *   history-group   as a payment archives: decision n group-committed keeping its mail, then marked presented and mailed (n acked after all)
 *   load-intents    LoadIntents for counter n, and counter n-1 cleared when n is even (n acked after both)
 *   seen-mail   SeenMailJournal (argv[3] is the profile dir) remembering `id-n`
 */
import { RecordLog } from '../../card-io/base/durable/record-log.js';
import { silentLogger } from '../../card-io/base/log.js';
import { PaymentIntents } from '../../gateway/emoney/payment-intents.js';
import { SeenMailJournal } from '../../gateway/cli/seen-mail-journal.js';
import { LoadIntents } from '../../gateway/emoney/payment-intents.js';
import { HistoryStore } from '../../gateway/history/index.js';

/** Decision n of the children's card, as the e-money manager archives it. */
function childDecision(n: number) {
  return {
    kind: 'decision' as const,
    cardId: 'c1',
    seq: n,
    market: 'shop.example',
    orderId: `order-${n}`,
    amount: 100,
    currency: 'EUR',
    time: '2025-03-01T00:00:00Z',
    status: 'paid' as const,
    signedRecord: Buffer.alloc(170, 7).toString('base64'),
    presented: false,
  };
}

const [kind, path, padBytes] = [process.argv[2]!, process.argv[3]!, Number(process.argv[4] ?? '64')];
const ack = (n: number) => process.stdout.write(`${n}\n`);

if (kind === 'log') {
  const { log, records } = await RecordLog.open<{ n: number; pad: string }>(path);
  const pad = 'x'.repeat(padBytes);
  for (let n = records.length; ; n++) {
    await log.append({ n, pad });
    ack(n);
  }
} else if (kind === 'history') {
  const store = await HistoryStore.open({ dir: path, logger: silentLogger });
  const signedRecord = Buffer.alloc(170, 7).toString('base64');
  for (let n = (await store.list()).length; ; n++) {
    await store.append({
      kind: 'decision',
      cardId: 'c1',
      seq: n,
      market: 'shop.example',
      orderId: `order-${n}`,
      amount: 100,
      currency: 'EUR',
      time: '2025-03-01T00:00:00Z',
      status: 'paid',
      signedRecord,
      presented: false,
    });
    ack(n);
  }
} else if (kind === 'history-group') {
  const store = await HistoryStore.open({ dir: path, logger: silentLogger });
  for (let n = (await store.list()).length; ; n++) {
    // The entry keeps its mail (mailed: false) until every channel acknowledged it (EmoneyManager.archiveDecision).
    await store.append({ ...childDecision(n), mailed: false }, { groupCommit: true });
    await store.update(`c1:decision:${n}`, { presented: true });
    await store.update(`c1:decision:${n}`, { mailed: true });
    ack(n);
  }
} else if (kind === 'load-intents') {
  const loads = new LoadIntents(path);
  for (let n = 0; ; n++) {
    await loads.record({ terminalId: 't1', mail: 'a@example.org', cardId: 'c1', amount: 100, currency: 'EUR', counter: n, balance: 100 * n });
    if (n % 2 === 0 && n > 0) await loads.clear('c1', n - 1);
    ack(n);
  }
} else if (kind === 'seen-mail') {
  const journal = await SeenMailJournal.open(path, { capacity: 1_000_000 });
  for (let n = journal.ids.size; ; n++) {
    await journal.record([`id-${n}`]);
    ack(n);
  }
} else if (kind === 'intents') {
  const intents = new PaymentIntents(path);
  for (let n = 0; ; n++) {
    await intents.record({ terminalId: 't1', mail: 'a@example.org', market: 'shop.example', orderId: `order-${n}` });
    ack(n);
  }
}
