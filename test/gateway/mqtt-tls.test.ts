/**
 * Every MQTT client of homegate over TLS with client certificates, against a
 * real Mosquitto that requires them (`require_certificate true`) on top of
 * the shipped ACL and a password file: the gateway's notifier (gateway.json
 * `caFile`/`certFile`/`keyFile`, here their PEM) delivers mail, the
 * terminal's mailbox reads it with its own certificate, and a client without
 * a certificate does not get in.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readUnverifiedMailbox, isMailboxError } from '../../card-io/access-card/mailbox.js';
import { GATEWAY_BROKER_USER } from '../../gateway/notify/broker-users.js';
import { SHIPPED_ACL_FILE } from '../../gateway/notify/embedded-broker.js';
import { createNotification } from '../../gateway/notify/notification.js';
import { createNotifier } from '../../gateway/notify/notifier.js';
import { createClientCertificate, createRootCa, createServerCertificate, derToPem, generateP256KeyPair, type IssuingCa } from '../../provisioning/pki/index.js';
import { needsBinary } from '../helpers/binaries.js';
import { ALICE, makeLogins, tempDir } from '../helpers/dashboard-rig.js';
import { startMosquitto } from '../helpers/mosquitto.js';

const mosquitto = needsBinary('mosquitto');

async function identity(issuer: IssuingCa, kind: 'server' | 'client', name: string): Promise<{ cert: string; key: string }> {
  const { privateKey, publicKey } = generateP256KeyPair();
  const common = { subject: `CN=${name}`, subjectPublicKey: publicKey, issuer };
  const der =
    kind === 'server'
      ? await createServerCertificate({ ...common, dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] })
      : await createClientCertificate(common);
  return { cert: derToPem(der), key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}

mosquitto.test('Over TLS with client certificates the gateway delivers mail and the terminal reads it; without a certificate nobody gets in', async (t) => {
  const logins = await makeLogins(t);
  const dir = await tempDir(t, 'homegate-mqtt-tls-');
  const caKey = generateP256KeyPair().privateKey;
  const ca: IssuingCa = { certificate: await createRootCa({ subject: 'CN=household CA', privateKey: caKey }), privateKey: caKey };
  const caPem = derToPem(ca.certificate);
  const server = await identity(ca, 'server', 'broker');
  const gateway = await identity(ca, 'client', GATEWAY_BROKER_USER);
  const terminal = await identity(ca, 'client', ALICE);
  const files = { ca: join(dir, 'ca.pem'), cert: join(dir, 'broker.pem'), key: join(dir, 'broker.key') };
  await writeFile(files.ca, caPem);
  await writeFile(files.cert, server.cert);
  await writeFile(files.key, server.key, { mode: 0o600 });
  const m = await startMosquitto({
    config: (ctx) =>
      [
        `listener ${ctx.port} 127.0.0.1`,
        `cafile ${files.ca}`,
        `certfile ${files.cert}`,
        `keyfile ${files.key}`,
        'require_certificate true',
        'allow_anonymous false',
        'use_username_as_clientid true',
        `password_file ${logins.passwordFile}`,
        `acl_file ${SHIPPED_ACL_FILE}`,
      ].join('\n'),
  });
  t.teardown(() => m.dispose());
  const url = `mqtts://localhost:${m.port}`;
  const mailbox = { url, terminalId: ALICE, username: ALICE, password: logins.password[ALICE]!, ca: caPem, idleMs: 400 };
  await readUnverifiedMailbox({ ...mailbox, ...terminal }); // opens Alice's persistent session

  const notifier = await createNotifier({
    dataDir: await tempDir(t, 'homegate-mqtt-tls-gw-'),
    mqtt: { url, username: GATEWAY_BROKER_USER, password: logins.password[GATEWAY_BROKER_USER], ca: caPem, ...gateway, reconnectPeriodMs: 200 },
  });
  t.teardown(() => notifier.stop());
  const record = {
    seq: 1,
    cardId: 'fedcba9876543210',
    market: 'shop.example',
    orderId: 'o-1',
    amount: 100,
    currency: 'EUR',
    time: '2026-01-01T00:00:00.000Z',
    status: 'paid' as const,
  };
  await notifier.notify(createNotification({ type: 'decision', cardId: record.cardId, seq: 1, terminalId: ALICE, mail: 'a@home.example', record }));
  await notifier.flush(10_000);

  const read = await readUnverifiedMailbox({ ...mailbox, ...terminal });
  t.deepEqual(
    read.messages.map((x) => x.id),
    ['fedcba9876543210:decision:1'],
  );
  const e = await t.throwsAsync(readUnverifiedMailbox({ ...mailbox, connectTimeoutMs: 3000 }));
  t.true(isMailboxError(e), `without a client certificate: ${e?.message}`);
});
