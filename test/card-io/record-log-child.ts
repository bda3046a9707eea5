/**
 * A child process for the SIGKILL-mid-append tests: appends as fast as it can
 * to the file named in argv[3] and prints `n` to stdout once the n-th append
 * resolved (is durable). Killed from outside. argv[2] picks what appends:
 *   log <pad>   RecordLog records `{ n, pad }` (pad: bytes of padding)
 *   history     HistoryStore decisions with seq n (argv[3] is the history dir)
 *   intents     PaymentIntents for order `order-n`
 */
import { RecordLog } from '../../card-io/base/durable/record-log.js';
import { silentLogger } from '../../card-io/base/log.js';
import { PaymentIntents } from '../../gateway/emoney/payment-intents.js';
import { HistoryStore } from '../../gateway/history/index.js';

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
} else if (kind === 'intents') {
  const intents = new PaymentIntents(path);
  for (let n = 0; ; n++) {
    await intents.record({ terminalId: 't1', mail: 'a@example.org', market: 'shop.example', orderId: `order-${n}` });
    ack(n);
  }
}
