/**
 * Child of notify-outbox-kill.test.ts: queues notifications and acknowledges
 * all but every eighth one (so most of the log dies and it gets compacted), printing `add <n>` once an enqueue resolved and
 * `done <n>` once its last markDone resolved, until it is SIGKILLed. A small
 * compaction threshold makes kills land inside compactions too.
 *
 *   node outbox-kill-child.js <dataDir> <first n> [sync|group]   (group: enqueue group-committed, as a payment's mail)
 */
import { createNotification } from '../../gateway/notify/notification.js';
import { Outbox } from '../../gateway/notify/outbox.js';

export const CARD = '0123456789abcdef';

export function killDecision(seq: number) {
  return createNotification({
    type: 'decision',
    cardId: CARD,
    seq,
    terminalId: 'a1b2c3d4e5f60718',
    mail: 'owner@home.example',
    record: {
      seq,
      cardId: CARD,
      market: 'shop.example',
      orderId: `order-${seq}`,
      amount: 100,
      currency: 'EUR',
      time: '2025-03-01T10:00:00.000Z',
      status: 'paid',
    },
    signedRecord: Buffer.alloc(200, seq & 0xff),
  });
}

if (process.argv[1]?.endsWith('outbox-kill-child.js')) {
  const [dataDir, first, mode] = process.argv.slice(2);
  const outbox = await Outbox.open({ dataDir: dataDir!, deliveredCapacity: 1_000_000, compactAtBytes: 16_384 });
  for (let n = Number(first); ; n++) {
    const d = killDecision(n);
    await outbox.enqueue(d, ['mqtt', 'smtp'], { groupCommit: mode === 'group' });
    process.stdout.write(`add ${n}\n`);
    if (n % 8 !== 1) {
      await outbox.markDone(d.id, 'mqtt');
      await outbox.markDone(d.id, 'smtp');
      process.stdout.write(`done ${n}\n`);
    }
  }
}
