/**
 * A household broker on mqtts:// with a certificate from the household CA (as
 * deploy/mosquitto/homegate.conf recommends): the terminal trusts it through
 * the CA in its profile, and only through that.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { Aedes } from 'aedes';
import test from 'ava';
import { readMailbox } from '../../card-io/access-card/mailbox.js';
import { derToPem } from '../../provisioning/pki/pem.js';
import { loadOrCreateCa } from '../../provisioning/ca-store.js';
import { issueGatewayServerCertificate } from '../../provisioning/gateway-server-certificate.js';

async function tlsBroker(t: import('ava').ExecutionContext) {
  const dir = await mkdtemp(join(tmpdir(), 'homegate-mqtts-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const ca = await loadOrCreateCa(dir, 'household-ca', 'CN=test household CA');
  const server = await issueGatewayServerCertificate(ca, ['localhost'], ['127.0.0.1']);
  const aedes = await Aedes.createBroker();
  const listener = tls.createServer({ cert: server.certificatePem, key: server.keyPem, minVersion: 'TLSv1.2' }, aedes.handle);
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', () => resolve()));
  t.teardown(async () => {
    await new Promise<void>((resolve) => listener.close(() => resolve()));
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
  });
  // Any certificate serves as the pinned card certificate here: no mail is sent.
  return { url: `mqtts://localhost:${(listener.address() as AddressInfo).port}`, caPem: derToPem(ca.certificate), cardCertificate: ca.certificate };
}

test('A terminal reads its mail from an mqtts broker whose certificate the household CA issued, with the CA from its profile', async (t) => {
  const b = await tlsBroker(t);
  const read = await readMailbox({ url: b.url, terminalId: 'kitchen', idleMs: 100, cardCertificate: b.cardCertificate, ca: b.caPem });
  t.deepEqual(read.messages, []);
});

test('Without the household CA, the same mqtts broker is not trusted and the read fails', async (t) => {
  const b = await tlsBroker(t);
  const error = await t.throwsAsync(
    readMailbox({ url: b.url, terminalId: 'kitchen', idleMs: 100, connectTimeoutMs: 3000, cardCertificate: b.cardCertificate }),
  );
  t.is((error as { code?: string }).code, 'broker-unreachable');
});
