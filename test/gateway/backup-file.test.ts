/**
 * The backup file's refusals (gateway/backup/backup-cipher.ts,
 * data-snapshot.ts): a truncated, tampered or crafted file is refused with a
 * coded error, and a refused restore writes nothing.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { decryptBackup, encryptBackup } from '../../gateway/backup/backup-cipher.js';
import { BackupError } from '../../gateway/backup/backup-error.js';
import { type DataSnapshot, restoreSnapshot } from '../../gateway/backup/data-snapshot.js';

const PASSPHRASE = 'a long household passphrase';
const snapshot: DataSnapshot = {
  version: 1,
  created: '2026-11-25T00:00:00.000Z',
  files: [{ path: 'pki/gateway.key', mode: 0o600, data: Buffer.from('not really a key').toString('base64') }],
};
const file = encryptBackup(snapshot, PASSPHRASE);

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof BackupError ? e.code : `not a BackupError: ${(e as Error).message}`;
  }
  return undefined;
}

test('A backup reads back with its passphrase; truncated, with a flipped byte or a wrong passphrase it is refused', (t) => {
  t.deepEqual(decryptBackup(file, PASSPHRASE), snapshot);
  t.is(
    codeOf(() => decryptBackup(file, 'another long passphrase')),
    'wrong-passphrase',
  );
  t.is(
    codeOf(() => decryptBackup(file.subarray(0, file.length - 5), PASSPHRASE)),
    'wrong-passphrase',
    'truncated',
  );
  t.is(
    codeOf(() => decryptBackup(file.subarray(0, 20), PASSPHRASE)),
    'invalid',
    'cut inside the header',
  );
  const flipped = Buffer.from(file);
  flipped[40] = flipped[40]! ^ 1;
  t.is(
    codeOf(() => decryptBackup(flipped, PASSPHRASE)),
    'wrong-passphrase',
    'a byte of the ciphertext changed',
  );
});

test('A header asking scrypt for far more memory or work than homegate writes is refused before any key derivation', (t) => {
  for (const [log2N, r, p, what] of [
    [18, 8, 1, 'N = 2^18 (256 MiB)'],
    [16, 32, 1, 'r = 32 (512 MiB)'],
    [15, 8, 16, 'p = 16'],
  ] as const) {
    const crafted = Buffer.from(file);
    crafted.set([log2N, r, p], 5);
    t.is(
      codeOf(() => decryptBackup(crafted, PASSPHRASE)),
      'invalid',
      what,
    );
  }
});

test('A snapshot naming a file outside the data directory is refused, and the directory stays empty', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'homegate-restore-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const forged: DataSnapshot = { ...snapshot, files: [...snapshot.files, { path: '../escape', mode: 0o600, data: '' }] };
  const e = await t.throwsAsync(restoreSnapshot(forged, dir), { instanceOf: BackupError });
  t.is(e?.code, 'invalid');
  t.deepEqual(await readdir(dir), [], 'nothing written, so a good backup can still be restored here');
});
