/**
 * `homegate backup` while payments run, then `homegate restore` into a new
 * data directory: a gateway started there on the same card is the same
 * household (registry, archive, balance); a wrong passphrase restores
 * nothing; the file is not readable without the passphrase.
 */
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { AccessCard } from '../../card-io/access-card/access-card.js';
import { loadTerminalProfile } from '../../card-io/access-card/terminal-profile.js';
import { silentLogger } from '../../card-io/base/log.js';
import { startGateway } from '../../gateway/gateway.js';
import { HistoryStore } from '../../gateway/history/history-store.js';
import { runCli, transcript } from '../gateway/cli-process.js';
import { recordingPins, SANDBOX_MARKET, sandboxGatewayConfig, startPurseHousehold } from '../helpers/household/index.js';

const PASSPHRASE = 'a long household passphrase';

async function archive(dir: string) {
  const store = await HistoryStore.open({ dir: join(dir, 'history'), logger: silentLogger });
  return (await store.list()).map((e) => e as unknown as Record<string, unknown>).sort((a, b) => Number(a.seq) - Number(b.seq));
}

/** What the card signed and decided: the money history, without the gateway's own annotations. */
const money = (e: Record<string, unknown>) => ({
  kind: e.kind,
  seq: e.seq,
  orderId: e.orderId,
  amount: e.amount,
  status: e.status,
  signedRecord: e.signedRecord,
});

test.serial('A backup taken while payments run restores into a new data directory as the same household: registry, archive and balance', async (t) => {
  const h = await startPurseHousehold(t);
  const access = await h.accessCard();
  await access.unlock();
  const pay = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const order = await h.createOrder(access, 'mug');
      await access.pay(SANDBOX_MARKET, order.orderId);
    }
  };
  const backupFile = join(await mkdtemp(join(tmpdir(), 'homegate-backup-')), 'household.hgbk');
  t.teardown(() => rm(join(backupFile, '..'), { recursive: true, force: true }));

  await pay(1); // so that the backup holds a terminal's payment
  const [, backup] = await Promise.all([
    pay(3),
    runCli(['--data', h.dataDir, 'backup', '--out', backupFile, '--json'], { input: `${PASSPHRASE}\n${PASSPHRASE}\n` }),
  ]);
  t.is(backup.code, 0, transcript(backup));
  t.is((await stat(backupFile)).mode & 0o777, 0o600);
  // Encrypted: no key, no registry text in the clear.
  const raw = await readFile(backupFile);
  t.false(raw.includes('PRIVATE KEY') || raw.includes('terminals'));
  const balanceBefore = await access.balance();
  access.close();

  // The household stops; the restored data directory takes over the same card.
  await h.inProcess!.stop();
  const registryBefore = JSON.parse(await readFile(join(h.dataDir, 'registry.json'), 'utf8')) as Record<string, unknown>;
  const archiveBefore = await archive(h.dataDir);

  const restored = await mkdtemp(join(tmpdir(), 'homegate-restored-'));
  t.teardown(() => rm(restored, { recursive: true, force: true }));
  const wrong = await runCli(['--data', restored, 'restore', backupFile], { input: 'not the passphrase\n' });
  t.is(wrong.code, 1, transcript(wrong));
  t.regex(wrong.stderr, /Wrong passphrase/);
  t.deepEqual(await readdir(restored), []);

  const ok = await runCli(['--data', restored, 'restore', backupFile, '--json'], { input: `${PASSPHRASE}\n` });
  t.is(ok.code, 0, transcript(ok));
  t.is((await stat(join(restored, 'pki', 'gateway.key'))).mode & 0o777, 0o600);
  const again = await runCli(['--data', restored, 'restore', backupFile], { input: `${PASSPHRASE}\n` });
  t.is(again.code, 1, 'a data directory that holds anything is never restored into');

  const config = await sandboxGatewayConfig(h.sandbox, h.ports);
  const gateway = await startGateway({ dataDir: restored, config, logger: silentLogger });
  let stopped = false;
  t.teardown(() => (stopped ? undefined : gateway.stop()));
  const profile = await loadTerminalProfile(join(restored, 'terminals', 'demo'));
  const access2 = new AccessCard(profile, recordingPins());
  t.teardown(() => access2.close());
  await access2.unlock();
  t.deepEqual(await access2.balance(), balanceBefore);
  access2.close();
  // The catch-up from the card's log has refilled what the snapshot's archive lacked.
  await gateway.stop();
  stopped = true;

  t.deepEqual(JSON.parse(await readFile(join(restored, 'registry.json'), 'utf8')).markets, registryBefore.markets);
  t.deepEqual(
    (JSON.parse(await readFile(join(restored, 'registry.json'), 'utf8')).terminals as Array<{ id: string }>).map((x) => x.id),
    (registryBefore.terminals as Array<{ id: string }>).map((x) => x.id),
  );
  // The money history is the card's, whole; what the gateway noted itself (which terminal paid) is as of the
  // backup: entries archived before it come back unchanged, later ones are refilled from the card's log.
  const archiveAfter = await archive(restored);
  t.deepEqual(archiveAfter.map(money), archiveBefore.map(money));
  const taken = Date.parse((JSON.parse(backup.stdout) as { created: string }).created);
  const before = archiveBefore.filter((e) => Date.parse(String(e.archivedAt)) < taken);
  t.true(before.length >= 1);
  for (const e of before)
    t.deepEqual(
      archiveAfter.find((x) => x.seq === e.seq && x.kind === e.kind),
      e,
    );
});
