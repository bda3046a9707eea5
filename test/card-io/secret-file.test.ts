import { chmod, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { readSecretFile, SecretFileError } from '../../card-io/base/durable/secret-file.js';

async function dir(t: import('ava').ExecutionContext): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'homegate-secret-'));
  t.teardown(() => rm(d, { recursive: true, force: true }));
  return d;
}

test('A secret file of mode 0600 is read', async (t) => {
  const path = join(await dir(t), 'gateway.key');
  await writeFile(path, 'KEY', { mode: 0o600 });
  t.is((await readSecretFile(path)).toString(), 'KEY');
});

test('A secret file the group or others may read is refused, naming the file and its mode but not the secret', async (t) => {
  const path = join(await dir(t), 'gateway.key');
  await writeFile(path, 'TOPSECRET', { mode: 0o600 });
  for (const mode of [0o640, 0o604, 0o644]) {
    await chmod(path, mode);
    const e = await t.throwsAsync(readSecretFile(path));
    t.true(e instanceof SecretFileError && e.code === 'exposed', e?.message);
    t.true(e!.message.includes(path) && e!.message.includes(`0${mode.toString(8)}`));
    t.false(e!.message.includes('TOPSECRET'));
  }
});

test('A secret is not read through a symbolic link or from a directory', async (t) => {
  const d = await dir(t);
  await writeFile(join(d, 'real.key'), 'KEY', { mode: 0o600 });
  await symlink(join(d, 'real.key'), join(d, 'link.key'));
  const viaLink = await t.throwsAsync(readSecretFile(join(d, 'link.key')));
  t.true(viaLink instanceof SecretFileError && viaLink.code === 'not-a-file');
  const aDir = await t.throwsAsync(readSecretFile(d));
  t.true(aDir instanceof SecretFileError && aDir.code === 'not-a-file');
});
