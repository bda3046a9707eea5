import test from 'ava';
import { access, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRecordLogError } from '../../card-io/base/durable/record-log.js';
import { SEEN_MAIL_LOG, SeenMailJournal } from '../../gateway/cli/seen-mail-journal.js';

async function profileDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hg-seen-mail-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('Each read that showed mail appends one record of its new ids, whatever the journal holds, and a reopened journal knows them', async (t) => {
  const dir = await profileDir(t);
  const journal = await SeenMailJournal.open(dir);
  await journal.record(Array.from({ length: 500 }, (_, i) => `c:decision:${i}`));
  const size = (await stat(join(dir, SEEN_MAIL_LOG))).size;
  await journal.record(['c:decision:1', 'c:decision:500']);
  const grown = (await stat(join(dir, SEEN_MAIL_LOG))).size - size;
  t.true(grown > 0 && grown < 64, `one short record for one new id (${grown} bytes)`);
  await journal.record(['c:decision:2']);
  t.is((await stat(join(dir, SEEN_MAIL_LOG))).size - size, grown, 'nothing written when every id is known');
  const reopened = await SeenMailJournal.open(dir);
  t.is(reopened.ids.size, 501);
  t.true(reopened.ids.has('c:decision:500'));
  t.is((await stat(join(dir, SEEN_MAIL_LOG))).mode & 0o777, 0o600);
});

test('Beyond twice its capacity the journal is rewritten to the newest ids, rarely', async (t) => {
  const dir = await profileDir(t);
  const journal = await SeenMailJournal.open(dir, { capacity: 10 });
  for (let i = 0; i < 20; i++) await journal.record([`id-${i}`]);
  t.is((await readFile(join(dir, SEEN_MAIL_LOG), 'utf8')).split('\n').length - 1, 20, 'not rewritten yet: 20 records');
  await journal.record(['id-20']);
  const lines = (await readFile(join(dir, SEEN_MAIL_LOG), 'utf8')).trim().split('\n');
  t.is(lines.length, 1, 'rewritten as one record');
  t.deepEqual(
    [...(await SeenMailJournal.open(dir, { capacity: 10 })).ids],
    Array.from({ length: 10 }, (_, i) => `id-${i + 11}`),
  );
});

test('The JSON array of earlier versions is converted at the first open and removed; a damaged journal is an error, never an empty memory', async (t) => {
  const dir = await profileDir(t);
  await writeFile(join(dir, 'mail-seen.json'), JSON.stringify(['a:decision:1', 'a:decision:2']));
  const journal = await SeenMailJournal.open(dir);
  t.deepEqual([...journal.ids], ['a:decision:1', 'a:decision:2']);
  await t.throwsAsync(access(join(dir, 'mail-seen.json')));
  await journal.record(['a:decision:3']);
  const text = await readFile(join(dir, SEEN_MAIL_LOG), 'utf8');
  await writeFile(join(dir, SEEN_MAIL_LOG), text.replace('a:decision:1', 'a:decision:9'));
  const e = await t.throwsAsync(SeenMailJournal.open(dir));
  t.true(isRecordLogError(e, 'corrupt'));
});
