import test from 'ava';
import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeRecord, isRecordLogError, RecordLog, scanRecordLog } from '../../card-io/base/durable/record-log.js';

async function tempLog(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hg-record-log-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'events.log');
}

test('When records are appended, a reopened log returns them in order and each append wrote only its own line', async (t) => {
  const path = await tempLog(t);
  const { log, records } = await RecordLog.open<{ n: number }>(path);
  t.deepEqual(records, []);
  for (let n = 0; n < 5; n++) t.is(await log.append({ n }), Buffer.byteLength(encodeRecord({ n })));
  t.is((await stat(path)).mode & 0o777, 0o600);
  const reopened = await RecordLog.open<{ n: number }>(path);
  t.deepEqual(
    reopened.records,
    [0, 1, 2, 3, 4].map((n) => ({ n })),
  );
  t.is(reopened.repairedTailBytes, 0);
});

test('When the last record is torn (no newline, or zeros where data never reached the disk), open cuts it and keeps every earlier record', async (t) => {
  for (const tail of [encodeRecord({ n: 2 }).slice(0, 7), encodeRecord({ n: 2 }).slice(0, -1), '\0'.repeat(40)]) {
    const path = await tempLog(t);
    await writeFile(path, encodeRecord({ n: 0 }) + encodeRecord({ n: 1 }) + tail);
    const opened = await RecordLog.open<{ n: number }>(path);
    t.deepEqual(opened.records, [{ n: 0 }, { n: 1 }]);
    t.is(opened.repairedTailBytes, Buffer.byteLength(tail));
    t.is(await readFile(path, 'utf8'), encodeRecord({ n: 0 }) + encodeRecord({ n: 1 }), 'the tail is cut on disk');
    await opened.log.append({ n: 2 });
    t.deepEqual((await RecordLog.open(path)).records, [{ n: 0 }, { n: 1 }, { n: 2 }]);
  }
});

test('When a record before the last is damaged, open refuses with corrupt naming the file and line, and leaves the file untouched', async (t) => {
  const path = await tempLog(t);
  const good = [0, 1, 2].map((n) => encodeRecord({ n }));
  const variants = [
    good[0] + good[1]!.replace('"n":1', '"n":7') + good[2], // checksum mismatch
    good[0] + 'not a record\n' + good[2],
    good[0] + '\n' + good[2], // an empty line
  ];
  for (const text of variants) {
    await writeFile(path, text);
    const error = await t.throwsAsync(RecordLog.open(path));
    t.true(isRecordLogError(error, 'corrupt'));
    t.is((error as unknown as { path: string }).path, path);
    t.like((error as unknown as { context: object }).context, { line: 2 });
    t.is(await readFile(path, 'utf8'), text);
    const scan = await scanRecordLog(path);
    t.deepEqual(scan.salvaged, [{ n: 2 }], 'the sound records after the damage are still found for salvage');
  }
});

test('When the last record is complete but fails its checksum, it is corrupt, not a torn tail to cut', async (t) => {
  const path = await tempLog(t);
  const text = encodeRecord({ n: 0 }) + encodeRecord({ n: 1 }).replace('"n":1', '"n":5');
  await writeFile(path, text);
  t.true(isRecordLogError(await t.throwsAsync(RecordLog.open(path)), 'corrupt'));
  t.is(await readFile(path, 'utf8'), text);
});

test('When parse refuses a record, it is corrupt, not skipped', async (t) => {
  const path = await tempLog(t);
  await writeFile(path, encodeRecord({ n: 0 }) + encodeRecord({ n: 'one' }) + encodeRecord({ n: 2 }));
  const parse = (v: unknown) => {
    if (typeof (v as { n: unknown }).n !== 'number') throw new Error('n');
    return v as { n: number };
  };
  t.true(isRecordLogError(await t.throwsAsync(RecordLog.open(path, { parse })), 'corrupt'));
});

test('When the file was changed behind the log, append refuses with changed and writes nothing', async (t) => {
  const path = await tempLog(t);
  const { log } = await RecordLog.open<{ n: number }>(path);
  await log.append({ n: 0 });
  t.true(await log.unchanged());
  await appendFile(path, 'garbage');
  t.false(await log.unchanged());
  t.true(isRecordLogError(await t.throwsAsync(log.append({ n: 1 })), 'changed'));
  t.is(await readFile(path, 'utf8'), `${encodeRecord({ n: 0 })}garbage`);
});

test('When a log is compacted, it holds exactly the given records and appends continue after them', async (t) => {
  const path = await tempLog(t);
  const { log } = await RecordLog.open<{ n: number }>(path);
  for (let n = 0; n < 10; n++) await log.append({ n });
  await log.compact([{ n: 8 }, { n: 9 }]);
  await log.append({ n: 10 });
  t.deepEqual((await RecordLog.open(path)).records, [{ n: 8 }, { n: 9 }, { n: 10 }]);
});
