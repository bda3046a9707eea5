/**
 * `mqtt.brokerReload`: after the gateway changed the password file (an
 * enrollment), SIGHUP to the pid in the broker's pid file (the shipped
 * `pid_file`, which Mosquitto writes) makes a running Mosquitto reread it,
 * so the new terminal logs in without a broker restart.
 */
import { join } from 'node:path';
import { readUnverifiedMailbox } from '../../card-io/access-card/mailbox.js';
import { silentLogger } from '../../card-io/base/log.js';
import { generateBrokerPassword, setBrokerUser } from '../../gateway/notify/broker-users.js';
import { reloadBroker } from '../../gateway/notify/broker-reload.js';
import { needsBinary } from '../helpers/binaries.js';
import { makeLogins } from '../helpers/dashboard-rig.js';
import { delay } from '../helpers/link-probes.js';
import { shippedMosquittoConfig, startMosquitto } from '../helpers/mosquitto.js';

needsBinary('mosquitto').test('A terminal added to the password file logs in once the broker was signalled through its pid file', async (t) => {
  const logins = await makeLogins(t);
  const m = await startMosquitto({ config: (ctx) => shippedMosquittoConfig(ctx, logins.passwordFile) });
  t.teardown(() => m.dispose());
  const pidFile = join(m.dir, 'mosquitto.pid'); // the shipped pid_file, moved into the test's directory
  const carol = 'cccccccccccccccc';
  const password = generateBrokerPassword();
  await setBrokerUser(logins.passwordFile, { username: carol, password });
  const read = () => readUnverifiedMailbox({ url: m.url, terminalId: carol, username: carol, password, idleMs: 200, connectTimeoutMs: 3000 });
  await t.throwsAsync(read(), undefined, 'not before the broker rereads its password file');
  t.true(await reloadBroker(pidFile, silentLogger));
  await delay(300);
  await t.notThrowsAsync(read());
  t.false(await reloadBroker(join(pidFile, 'missing'), silentLogger), 'a missing pid file is reported, not thrown');
});
