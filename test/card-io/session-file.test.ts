/**
 * `terminal session --out FILE` writes the handed session, a secret, on
 * real files (card-io/access-card/session-file.ts): always 0600, never
 * through a symbolic link, never into a FIFO or directory.
 */
import { execFileSync } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { isAccessCardError } from '../../card-io/access-card/access-card-error.js';
import { writeSessionFile } from '../../card-io/access-card/session-file.js';

const SECRET = '-----BEGIN SSL SESSION PARAMETERS-----\nc2VjcmV0\n-----END SSL SESSION PARAMETERS-----\n';

async function dir(t: ExecutionContext): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'homegate-session-file-'));
  t.teardown(() => rm(d, { recursive: true, force: true }));
  return d;
}

async function refusal(t: ExecutionContext, p: Promise<unknown>): Promise<void> {
  const e = await t.throwsAsync(p);
  t.true(isAccessCardError(e) && e.code === 'session-file-refused', String(e));
}

test('When the file does not exist, the session is written to a new file with mode 0600 and no temp file is left', async (t) => {
  const d = await dir(t);
  await writeSessionFile(join(d, 's.pem'), SECRET);
  t.is(await readFile(join(d, 's.pem'), 'utf8'), SECRET);
  t.is((await stat(join(d, 's.pem'))).mode & 0o777, 0o600);
  t.deepEqual(await readdir(d), ['s.pem']);
});

test('When the file exists readable by others, it ends up 0600 holding only the session', async (t) => {
  const d = await dir(t);
  const out = join(d, 's.pem');
  await writeFile(out, 'x'.repeat(5000));
  await chmod(out, 0o644);
  await writeSessionFile(out, SECRET);
  t.is((await stat(out)).mode & 0o777, 0o600);
  t.is(await readFile(out, 'utf8'), SECRET);
});

test('When the name is a symbolic link to another file, it is refused and the link target is unchanged', async (t) => {
  const d = await dir(t);
  const victim = join(d, 'victim.txt');
  await writeFile(victim, 'keep me');
  await chmod(victim, 0o644);
  await symlink(victim, join(d, 's.pem'));
  await refusal(t, writeSessionFile(join(d, 's.pem'), SECRET));
  t.is(await readFile(victim, 'utf8'), 'keep me');
  t.is((await stat(victim)).mode & 0o777, 0o644);
  t.is(await readlink(join(d, 's.pem')), victim, 'the link is still there, untouched');
});

test('When the name is a dangling symbolic link, it is refused and nothing is created where it points', async (t) => {
  const d = await dir(t);
  await symlink(join(d, 'elsewhere.pem'), join(d, 's.pem'));
  await refusal(t, writeSessionFile(join(d, 's.pem'), SECRET));
  await t.throwsAsync(lstat(join(d, 'elsewhere.pem')), { code: 'ENOENT' });
});

test('When the name is a directory or a FIFO, it is refused without blocking', async (t) => {
  const d = await dir(t);
  await mkdir(join(d, 'sub'));
  await refusal(t, writeSessionFile(join(d, 'sub'), SECRET));
  execFileSync('mkfifo', [join(d, 'fifo')]);
  await refusal(t, writeSessionFile(join(d, 'fifo'), SECRET));
});
