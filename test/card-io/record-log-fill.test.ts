/**
 * Page filling in the record log (card-io/base/durable/record-log.ts,
 * `fillPageBelow`): a record that leaves a nearly full 4 KiB page completes
 * it with a filler record in the same write, so the next record starts a
 * clean page; the filler is an ordinary record to every reader.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { encodeFiller, PAGE_BYTES, RecordLog, scanRecordLog } from '../../card-io/base/durable/record-log.js';
import { PaymentIntents } from '../../gateway/emoney/payment-intents.js';

async function tempDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'homegate-record-fill-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

type Rec = { n: number; pad?: string } | { noop: true };

test('A filler line has exactly the bytes asked, checks, and parses as the filler record; one that cannot fit is refused', (t) => {
  const line = encodeFiller({ noop: true }, 100)!;
  t.is(Buffer.byteLength(line), 100);
  t.deepEqual(JSON.parse(line.slice(9)), { noop: true });
  t.is(encodeFiller({ noop: true }, 12), undefined);
});

test('When a record leaves fewer than fillPageBelow bytes in its page, the page is completed in the same write and the next record starts a new page', async (t) => {
  const path = join(await tempDir(t), 'fill.jsonl');
  const { log } = await RecordLog.open<Rec>(path);
  const options = { fillPageBelow: 512, filler: { noop: true } as Rec };
  // Records of about 300 bytes: the 13th leaves fewer than 512 bytes of the first page.
  let pages = 0;
  for (let n = 0; n < 40; n++) {
    const before = log.size;
    await log.append({ n, pad: 'x'.repeat(280) }, options);
    const after = (await stat(path)).size;
    t.is(after, log.size);
    t.is(Math.floor(before / PAGE_BYTES), Math.floor((after - 1) / PAGE_BYTES), `record ${n} straddles no page boundary`);
    if (after % PAGE_BYTES === 0) pages++;
  }
  t.true(pages >= 2, 'pages were completed');
  const scan = await scanRecordLog(path);
  const records = scan.records as Rec[];
  t.deepEqual(
    records.filter((r) => 'n' in r).map((r) => (r as { n: number }).n),
    [...Array(40).keys()],
  );
  t.is(records.filter((r) => 'noop' in r).length, pages);
  t.is(scan.tornBytes, 0);
  t.is((await readFile(path)).length, log.size);
});

test('The payment intent journal fills its pages with a no-op record and reads back every intent', async (t) => {
  const path = join(await tempDir(t), 'payment-intents.jsonl');
  const intents = new PaymentIntents(path);
  for (let n = 0; n < 60; n++) await intents.record({ terminalId: 't1', mail: 'a@example.org', market: 'shop.example', orderId: `order-${n}` });
  const reopened = new PaymentIntents(path);
  for (let n = 0; n < 60; n++) t.truthy(await reopened.find('shop.example', `order-${n}`), `order-${n}`);
  const lines = (await readFile(path, 'utf8')).split('\n').filter(Boolean);
  t.true(
    lines.some((l) => /^\S{8} \{"drop":\[\] +\}$/.test(l)),
    'a filler record',
  );
});
