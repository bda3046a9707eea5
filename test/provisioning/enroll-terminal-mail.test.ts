/**
 * What enrollment hands a terminal for its mail: the pinned card certificate
 * and its own broker login (0600), with only the password's hash kept by the
 * gateway; and how the profile loader treats those files.
 */
import test, { type ExecutionContext } from 'ava';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTerminalProfileError, loadTerminalProfile } from '../../card-io/access-card/terminal-profile.js';
import { silentLogger } from '../../card-io/base/log.js';
import { readBrokerUsers, verifyBrokerPassword } from '../../gateway/notify/broker-users.js';
import { Registry } from '../../gateway/registry/index.js';
import { loadOrCreateCa } from '../../provisioning/ca-store.js';
import { enrollTerminal } from '../../gateway/enrollment/enroll-terminal.js';
import { derToPem } from '../../provisioning/pki/index.js';
import { capturingLogger } from '../helpers/link-probes.js';
import { signingCard } from '../helpers/signed-mail.js';

async function enrolled(t: ExecutionContext, logger = silentLogger) {
  const data = await mkdtemp(join(tmpdir(), 'hg-enroll-mail-'));
  t.teardown(() => rm(data, { recursive: true, force: true }));
  const householdCa = await loadOrCreateCa(join(data, 'ca'), 'household-ca', 'CN=Household CA, O=homegate');
  const registry = new Registry({ path: join(data, 'registry.json'), logger: silentLogger });
  await registry.open();
  const card = await signingCard();
  const brokerUsersFile = join(data, 'mqtt', 'homegate.passwd');
  const e = await enrollTerminal({
    registry,
    householdCa,
    name: 'alice-phone',
    mail: 'alice@example.org',
    gatewayUrl: 'https://localhost:8443',
    terminalsDir: join(data, 'terminals'),
    logger,
    cardCertificate: card.certificate,
    brokerUsersFile,
  });
  return { ...e, card, brokerUsersFile };
}

const mode = async (path: string) => (await stat(path)).mode & 0o777;

test(
  'When a terminal is enrolled, its profile pins the card certificate and holds its own broker login, 0600, ' + 'and the gateway keeps only a hash',
  async (t) => {
    const logger = capturingLogger();
    const { profileDir, terminal, card, brokerUsersFile, broker } = await enrolled(t, logger);
    t.is(await readFile(join(profileDir, 'card.pem'), 'utf8'), derToPem(card.certificate));
    t.is(await mode(join(profileDir, 'broker.json')), 0o600);
    t.is(await mode(brokerUsersFile), 0o600);
    const profile = await loadTerminalProfile(profileDir);
    t.is(profile.broker?.username, terminal.id);
    t.deepEqual(profile.broker, broker);
    t.true((profile.broker?.password.length ?? 0) >= 32);
    t.is(profile.cardCertificatePem, derToPem(card.certificate));
    const stored = await readFile(brokerUsersFile, 'utf8');
    t.false(stored.includes(profile.broker!.password), "the password itself is not in the gateway's file");
    const hash = (await readBrokerUsers(brokerUsersFile)).get(terminal.id);
    t.true(hash !== undefined && verifyBrokerPassword(hash, profile.broker!.password));
    t.false(verifyBrokerPassword(hash!, `${profile.broker!.password}x`));
    t.false(JSON.stringify(logger.records).includes(profile.broker!.password), 'the password is never logged');
  },
);

test('When two terminals are enrolled at once, the broker keeps both users', async (t) => {
  const data = await mkdtemp(join(tmpdir(), 'hg-enroll-mail-'));
  t.teardown(() => rm(data, { recursive: true, force: true }));
  const householdCa = await loadOrCreateCa(join(data, 'ca'), 'household-ca', 'CN=Household CA, O=homegate');
  const registry = new Registry({ path: join(data, 'registry.json'), logger: silentLogger });
  await registry.open();
  const brokerUsersFile = join(data, 'homegate.passwd');
  const enroll = (name: string) =>
    enrollTerminal({
      registry,
      householdCa,
      name,
      mail: `${name}@example.org`,
      gatewayUrl: 'https://localhost:8443',
      terminalsDir: join(data, 'terminals'),
      logger: silentLogger,
      brokerUsersFile,
    });
  const [a, b] = await Promise.all([enroll('one'), enroll('two')]);
  const users = await readBrokerUsers(brokerUsersFile);
  t.true(verifyBrokerPassword(users.get(a.terminal.id)!, a.broker!.password));
  t.true(verifyBrokerPassword(users.get(b.terminal.id)!, b.broker!.password));
});

test('When broker.json is readable by others or names another user, the profile is refused without quoting the password', async (t) => {
  const { profileDir, broker } = await enrolled(t);
  const file = join(profileDir, 'broker.json');
  await chmod(file, 0o644);
  const loose = await t.throwsAsync(loadTerminalProfile(profileDir));
  t.true(isTerminalProfileError(loose, 'key-permissions'), loose?.message);
  await chmod(file, 0o600);
  await writeFile(file, JSON.stringify({ ...broker, username: 'someone-else' }));
  const other = await t.throwsAsync(loadTerminalProfile(profileDir));
  t.true(isTerminalProfileError(other, 'profile-invalid'), other?.message);
  await writeFile(file, `{"username":"${broker!.username}","password":"${broker!.password}`); // truncated JSON
  const broken = await t.throwsAsync(loadTerminalProfile(profileDir));
  t.true(isTerminalProfileError(broken, 'profile-invalid'));
  t.false(`${broken?.message} ${String((broken as Error & { cause?: unknown }).cause)}`.includes(broker!.password));
});
