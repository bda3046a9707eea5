/**
 * A sandbox data directory from before terminals had a broker login and a
 * pinned card certificate: the next start completes the profile, and the
 * gateway's own broker user is made once and kept.
 */
import test from 'ava';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTerminalProfile } from '../../card-io/access-card/terminal-profile.js';
import { silentLogger } from '../../card-io/base/log.js';
import { BROKER_USERS_FILE, GATEWAY_BROKER_USER, readBrokerUsers, verifyBrokerPassword } from '../../gateway/notify/broker-users.js';
import { Registry } from '../../gateway/registry/index.js';
import { completeProfileMail, ensureGatewayBrokerUser, GATEWAY_PASSWORD_FILE } from '../../deploy/sandbox/household/sandbox-mail.js';
import { loadOrCreateCa } from '../../provisioning/ca-store.js';
import { enrollTerminal } from '../../gateway/enrollment/enroll-terminal.js';
import { derToPem } from '../../provisioning/pki/index.js';
import { signingCard } from '../helpers/signed-mail.js';

test('When an older sandbox profile lacks its broker login and card certificate, the next start adds both and the broker knows the login', async (t) => {
  const data = await mkdtemp(join(tmpdir(), 'hg-sandbox-mail-'));
  t.teardown(() => rm(data, { recursive: true, force: true }));
  const householdCa = await loadOrCreateCa(join(data, 'pki'), 'household-ca', 'CN=Household CA');
  const registry = new Registry({ path: join(data, 'registry.json'), logger: silentLogger });
  await registry.open();
  const old = await enrollTerminal({
    registry,
    householdCa,
    name: 'demo',
    mail: 'demo@household.example',
    gatewayUrl: 'https://localhost:8443',
    terminalsDir: join(data, 'terminals'),
    logger: silentLogger,
  });
  t.is((await loadTerminalProfile(old.profileDir)).broker, undefined);

  const card = await signingCard();
  const usersFile = join(data, BROKER_USERS_FILE);
  await completeProfileMail(old.profileDir, old.terminal.id, card.certificate, usersFile);
  await completeProfileMail(old.profileDir, old.terminal.id, card.certificate, usersFile); // a second start changes nothing
  const profile = await loadTerminalProfile(old.profileDir);
  t.is(profile.cardCertificatePem, derToPem(card.certificate));
  t.is(profile.broker?.username, old.terminal.id);
  t.true(verifyBrokerPassword((await readBrokerUsers(usersFile)).get(old.terminal.id)!, profile.broker!.password));

  const first = await ensureGatewayBrokerUser(data);
  const password = (await readFile(join(data, GATEWAY_PASSWORD_FILE), 'utf8')).trim();
  t.deepEqual(await ensureGatewayBrokerUser(data), first);
  t.is((await readFile(join(data, GATEWAY_PASSWORD_FILE), 'utf8')).trim(), password, 'the gateway keeps its password across starts');
  t.is((await stat(join(data, GATEWAY_PASSWORD_FILE))).mode & 0o777, 0o600);
  t.true(verifyBrokerPassword((await readBrokerUsers(usersFile)).get(GATEWAY_BROKER_USER)!, password));
});
