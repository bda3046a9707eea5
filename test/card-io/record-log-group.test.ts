import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GROUP_MAX_DELAY_MS, GROUP_MAX_RECORDS, RecordLog } from '../../card-io/base/durable/record-log.js';

async function tempLog(t: { teardown(fn: () => Promise<void>): void }) {
  const dir = await mkdtemp(join(tmpdir(), 'hg-record-log-group-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return (await RecordLog.open<{ n: number }>(join(dir, 'events.log'))).log;
}

test('Group-committed records wait for a shared fdatasync: the one that fills the group, a synced append, or flush', async (t) => {
  const log = await tempLog(t);
  for (let n = 1; n < GROUP_MAX_RECORDS; n++) await log.append({ n }, { sync: 'group' });
  t.is(log.waiting, GROUP_MAX_RECORDS - 1);
  await log.append({ n: GROUP_MAX_RECORDS }, { sync: 'group' });
  t.is(log.waiting, 0, 'the record that fills the group syncs them all');
  await log.append({ n: 100 }, { sync: 'group' });
  await log.append({ n: 101 }, { sync: false });
  t.is(log.waiting, 1, 'a record without its own sync does not count towards the group');
  await log.append({ n: 102 });
  t.is(log.waiting, 0, "a synced append's fdatasync covers the waiting records");
  await log.append({ n: 103 }, { sync: 'group' });
  await log.flush();
  t.is(log.waiting, 0);
  const reopened = await RecordLog.open<{ n: number }>(log.path);
  t.is(reopened.records.length, GROUP_MAX_RECORDS + 4, 'every record is in the log');
});

test('A group-committed record left alone is fdatasynced once the group delay has passed', async (t) => {
  const log = await tempLog(t);
  await log.append({ n: 1 }, { sync: 'group' });
  t.is(log.waiting, 1);
  await new Promise((resolve) => setTimeout(resolve, GROUP_MAX_DELAY_MS + 300));
  t.is(log.waiting, 0);
});
