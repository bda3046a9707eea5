/**
 * `homegate restore` onto a freshly flashed board: its data directory already
 * holds the bundle's gateway.json and keys, so a plain restore is refused and
 * `--replace` puts the backup in place, keeping what was there aside; with a
 * gateway answering on the admin socket, `--replace` changes nothing.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { encryptBackup } from '../../gateway/backup/backup-cipher.js';
import type { DataSnapshot } from '../../gateway/backup/data-snapshot.js';
import { runCli, transcript } from './cli-process.js';

const PASSPHRASE = 'a long household passphrase';
const snapshot: DataSnapshot = {
  version: 1,
  created: '2026-11-25T00:00:00.000Z',
  files: [
    { path: 'gateway.json', mode: 0o600, data: Buffer.from('{"restored":true}').toString('base64') },
    { path: 'pki/gateway.key', mode: 0o600, data: Buffer.from('restored key').toString('base64') },
    { path: 'registry.json', mode: 0o600, data: Buffer.from('{"terminals":[]}').toString('base64') },
  ],
};

/** A parent folder holding `homegate/` as a flash leaves it, and the backup file. */
async function flashed(t: ExecutionContext): Promise<{ parent: string; data: string; backup: string }> {
  const parent = await mkdtemp(join(tmpdir(), 'homegate-restore-'));
  t.teardown(() => rm(parent, { recursive: true, force: true }));
  const data = join(parent, 'homegate');
  await mkdir(join(data, 'pki'), { recursive: true, mode: 0o700 });
  await writeFile(join(data, 'gateway.json'), '{"flashed":true}', { mode: 0o600 });
  await writeFile(join(data, 'pki', 'gateway.key'), 'flashed key', { mode: 0o600 });
  const backup = join(parent, 'household.hgbk');
  await writeFile(backup, encryptBackup(snapshot, PASSPHRASE), { mode: 0o600 });
  return { parent, data, backup };
}

test('restore onto a flashed data directory is refused without --replace; with it the backup is in place and the flashed files are kept aside', async (t) => {
  const { parent, data, backup } = await flashed(t);
  const plain = await runCli(['--data', data, 'restore', backup], { input: `${PASSPHRASE}\n` });
  t.is(plain.code, 1, transcript(plain));
  t.regex(plain.stderr, /not empty.*--replace/);
  t.is(await readFile(join(data, 'gateway.json'), 'utf8'), '{"flashed":true}', 'nothing changed');

  const r = await runCli(['--data', data, 'restore', backup, '--replace', '--json'], { input: `${PASSPHRASE}\n` });
  t.is(r.code, 0, transcript(r));
  const out = JSON.parse(r.stdout) as { files: number; previous: string };
  t.is(out.files, 3);
  t.is(await readFile(join(data, 'gateway.json'), 'utf8'), '{"restored":true}');
  t.is(await readFile(join(data, 'pki', 'gateway.key'), 'utf8'), 'restored key');
  t.is((await stat(join(data, 'pki', 'gateway.key'))).mode & 0o777, 0o600);
  t.is((await stat(data)).mode & 0o777, 0o700);
  t.is(await readFile(join(out.previous, 'gateway.json'), 'utf8'), '{"flashed":true}', 'the flashed directory is kept aside, whole');
  t.deepEqual((await readdir(parent)).sort(), ['homegate', `homegate${out.previous.slice(data.length)}`, 'household.hgbk'].sort(), 'no staging left');
});

test('restore --replace with a wrong passphrase or while a gateway answers on the admin socket changes nothing', async (t) => {
  const { parent, data, backup } = await flashed(t);
  const wrong = await runCli(['--data', data, 'restore', backup, '--replace'], { input: 'not the passphrase\n' });
  t.is(wrong.code, 1, transcript(wrong));
  t.regex(wrong.stderr, /Wrong passphrase/);

  const server = net.createServer((c) => c.destroy());
  await new Promise<void>((resolve) => server.listen(join(data, 'gateway.sock'), resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const running = await runCli(['--data', data, 'restore', backup, '--replace'], { input: `${PASSPHRASE}\n` });
  t.is(running.code, 1, transcript(running));
  t.regex(running.stderr, /gateway is running/);
  t.is(await readFile(join(data, 'gateway.json'), 'utf8'), '{"flashed":true}');
  t.deepEqual((await readdir(parent)).sort(), ['homegate', 'household.hgbk']);
});
