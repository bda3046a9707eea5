/**
 * The gateway reads its secrets (its TLS key, the issuer credential's key, the
 * broker password) only from files no one else may read: a key file left
 * world-readable stops `homegate gateway run` with a message naming the file.
 */
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { runCli, transcript } from '../gateway/cli-process.js';
import { startPurseHousehold } from '../helpers/household/index.js';

test.serial('When the gateway\'s TLS key is readable by others, "homegate gateway run" refuses to start and names the file and the fix', async (t) => {
  const h = await startPurseHousehold(t);
  await h.inProcess!.stop();
  const key = join(h.dataDir, 'pki', 'gateway.key');
  await chmod(key, 0o644);
  const r = await runCli(['--data', h.dataDir, 'gateway', 'run'], { timeoutMs: 30_000 });
  t.is(r.code, 1, transcript(r));
  t.true(r.stderr.includes(key) && r.stderr.includes('0644') && r.stderr.includes('chmod 600'), transcript(r));
  t.false(r.stderr.includes('PRIVATE KEY'), 'the key itself is never printed');
});
