import test, { type ExecutionContext } from 'ava';
import { createHash, X509Certificate } from 'node:crypto';
import { chmod, copyFile, mkdtemp, readdir, readFile, rm, stat, unlink } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { signRequest } from '../../card-io/access-card/request-signer.js';
import { isTerminalProfileError, loadTerminalProfile } from '../../card-io/access-card/terminal-profile.js';
import { silentLogger } from '../../card-io/base/log.js';
import { isRegistryError, Registry } from '../../gateway/registry/index.js';
import { SignedRequestVerifier } from '../../gateway/terminal-api/request-signature.js';
import { loadOrCreateCa } from '../../provisioning/ca-store.js';
import { enrollTerminal } from '../../gateway/enrollment/enroll-terminal.js';
import { isEnrollmentError } from '../../provisioning/enrollment-error.js';
import { issueGatewayServerCertificate } from '../../provisioning/gateway-server-certificate.js';
import { derToPem } from '../../provisioning/pki/index.js';

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const DAY_MS = 86_400_000;

async function household(t: ExecutionContext) {
  const data = await mkdtemp(join(tmpdir(), 'hg-enroll-'));
  t.teardown(() => rm(data, { recursive: true, force: true }));
  const householdCa = await loadOrCreateCa(join(data, 'ca'), 'household-ca', 'CN=Household CA, O=homegate');
  const registry = new Registry({ path: join(data, 'registry.json'), logger: silentLogger });
  await registry.open();
  const terminalsDir = join(data, 'terminals');
  const enroll = (name = 'alice-phone', mail = 'alice@example.org') =>
    enrollTerminal({ registry, householdCa, name, mail, gatewayUrl: 'https://localhost:8443', terminalsDir, logger: silentLogger });
  return { data, householdCa, registry, terminalsDir, enroll };
}

const mode = async (path: string) => (await stat(path)).mode & 0o777;

test('Enrollment writes the profile directory 0700 with a 0600 key, the certificate, the household CA and profile.json', async (t) => {
  const { enroll, householdCa } = await household(t);
  const { terminal, profileDir } = await enroll();
  t.deepEqual((await readdir(profileDir)).sort(), ['household-ca.pem', 'profile.json', 'terminal.key', 'terminal.pem']);
  t.is(await mode(profileDir), 0o700);
  t.is(await mode(join(profileDir, 'terminal.key')), 0o600);
  t.is(await mode(join(profileDir, 'terminal.pem')), 0o644);
  t.regex(await readFile(join(profileDir, 'terminal.key'), 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
  t.is(await readFile(join(profileDir, 'household-ca.pem'), 'utf8'), derToPem(householdCa.certificate));
  t.deepEqual(JSON.parse(await readFile(join(profileDir, 'profile.json'), 'utf8')), {
    name: 'alice-phone',
    terminalId: terminal.id,
    gatewayUrl: 'https://localhost:8443',
    mail: 'alice@example.org',
  });
});

test('The terminal certificate chains to the household CA, is for clientAuth, names the terminal and lasts two years', async (t) => {
  const { enroll, householdCa } = await household(t);
  const { certificate } = await enroll();
  const cert = new X509Certificate(certificate);
  const ca = new X509Certificate(householdCa.certificate);
  t.true(cert.checkIssued(ca));
  t.true(cert.verify(ca.publicKey));
  t.false(cert.ca);
  t.deepEqual(cert.keyUsage, [CLIENT_AUTH]);
  t.is(cert.subject, 'CN=alice-phone');
  const days = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / DAY_MS;
  t.is(Math.round(days), 730);
});

test('The registry holds the terminal under the SHA-256 fingerprint of its certificate, with its mail', async (t) => {
  const { enroll, registry } = await household(t);
  const { terminal, certificate, profileDir } = await enroll();
  const pem = await readFile(join(profileDir, 'terminal.pem'), 'utf8');
  t.deepEqual(new X509Certificate(pem).raw, certificate);
  const fp = createHash('sha256').update(certificate).digest('hex');
  t.is(terminal.certFingerprint, fp);
  t.deepEqual(registry.findTerminalByFingerprint(fp), terminal);
  t.is(terminal.mail, 'alice@example.org');
  t.is(terminal.status, 'active');
});

test('Enrolling over an existing profile is refused and leaves it and the registry untouched', async (t) => {
  const { enroll, registry } = await household(t);
  const { profileDir } = await enroll();
  const key = await readFile(join(profileDir, 'terminal.key'));
  const err = await t.throwsAsync(enroll('alice-phone', 'someone@example.org'));
  t.true(isEnrollmentError(err, 'profile-exists'));
  t.deepEqual(await readFile(join(profileDir, 'terminal.key')), key);
  t.is(registry.listTerminals().length, 1);
});

test('When the registry refuses the terminal, no profile directory is left behind', async (t) => {
  const { registry, householdCa, data } = await household(t);
  const params = { registry, householdCa, name: 'tablet', mail: 'a@example.org', gatewayUrl: 'https://localhost:8443', logger: silentLogger };
  await enrollTerminal({ ...params, terminalsDir: join(data, 'one') });
  // an active terminal is already called "tablet"
  const err = await t.throwsAsync(enrollTerminal({ ...params, terminalsDir: join(data, 'two') }));
  t.true(isRegistryError(err, 'duplicate'));
  await t.throwsAsync(stat(join(data, 'two', 'tablet')), { code: 'ENOENT' });
});

test('A profile loads back with a key that signs requests the gateway accepts', async (t) => {
  const { enroll, registry } = await household(t);
  const { terminal, profileDir, certificate } = await enroll();
  const profile = await loadTerminalProfile(profileDir);
  t.like(profile, { name: 'alice-phone', terminalId: terminal.id, gatewayUrl: 'https://localhost:8443', mail: 'alice@example.org' });
  const jws = await signRequest({ terminalId: profile.terminalId, privateKey: profile.key, method: 'POST', path: '/v1/card/lock', body: {} });
  const verifier = new SignedRequestVerifier({ startedAt: Date.now() - 1000 });
  const enrolled = registry.findTerminalByFingerprint(createHash('sha256').update(certificate).digest('hex'))!;
  t.deepEqual(await verifier.verify({ jws, certificate, terminal: enrolled, method: 'POST', path: '/v1/card/lock' }), {});
});

test('loadTerminalProfile refuses a key file that others can read (0644), as a warning to fix', async (t) => {
  const { enroll } = await household(t);
  const { profileDir } = await enroll();
  await chmod(join(profileDir, 'terminal.key'), 0o644);
  const err = await t.throwsAsync(loadTerminalProfile(profileDir));
  t.true(isTerminalProfileError(err, 'key-permissions'));
  t.is(isTerminalProfileError(err) ? err.level : undefined, 'warning');
  t.regex(err!.message, /chmod 600/);
  await chmod(join(profileDir, 'terminal.key'), 0o600);
  await t.notThrowsAsync(loadTerminalProfile(profileDir));
});

test('loadTerminalProfile names a missing profile and the files an incomplete one lacks', async (t) => {
  const { enroll, terminalsDir } = await household(t);
  t.true(isTerminalProfileError(await t.throwsAsync(loadTerminalProfile(join(terminalsDir, 'nobody'))), 'profile-missing'));
  const { profileDir } = await enroll();
  await unlink(join(profileDir, 'household-ca.pem'));
  await unlink(join(profileDir, 'profile.json'));
  const err = await t.throwsAsync(loadTerminalProfile(profileDir));
  t.true(isTerminalProfileError(err, 'profile-incomplete'));
  t.deepEqual(isTerminalProfileError(err) ? err.context.missing : undefined, ['profile.json', 'household-ca.pem']);
});

test('loadTerminalProfile refuses a key that does not belong to the certificate', async (t) => {
  const { enroll } = await household(t);
  const a = await enroll('a');
  const b = await enroll('b');
  await rm(join(a.profileDir, 'terminal.key'));
  await copyFile(join(b.profileDir, 'terminal.key'), join(a.profileDir, 'terminal.key'));
  const err = await t.throwsAsync(loadTerminalProfile(a.profileDir));
  t.true(isTerminalProfileError(err, 'profile-invalid'));
});

test('The gateway server certificate is a serverAuth leaf of the household CA with its DNS and IP names', async (t) => {
  const { householdCa } = await household(t);
  const server = await issueGatewayServerCertificate(householdCa, ['localhost', 'homegate.local'], ['127.0.0.1', '::1']);
  const cert = new X509Certificate(server.certificate);
  t.true(cert.verify(new X509Certificate(householdCa.certificate).publicKey));
  t.deepEqual(cert.keyUsage, [SERVER_AUTH]);
  t.is(cert.checkHost('homegate.local'), 'homegate.local');
  t.is(cert.checkIP('127.0.0.1'), '127.0.0.1');
  t.true(cert.checkPrivateKey(server.privateKey));
  await t.throwsAsync(issueGatewayServerCertificate(householdCa, []));
});

test('An enrolled terminal and the gateway certificate complete a mutual TLS 1.3 handshake', async (t) => {
  const { enroll, householdCa } = await household(t);
  const { profileDir, certificate } = await enroll();
  const profile = await loadTerminalProfile(profileDir);
  const gateway = await issueGatewayServerCertificate(householdCa, ['localhost']);
  const caPem = derToPem(householdCa.certificate);
  const server = createServer({
    key: gateway.keyPem,
    cert: gateway.certificatePem,
    ca: caPem,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.3',
  });
  t.teardown(() => void server.close());
  const peer = new Promise<Buffer>((resolve) =>
    server.on('secureConnection', (s: TLSSocket) => {
      resolve(s.getPeerCertificate().raw);
      s.end();
    }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const socket = connect({
    host: '127.0.0.1',
    port,
    servername: 'localhost',
    key: profile.keyPem,
    cert: profile.certificatePem,
    ca: profile.householdCaPem,
    minVersion: 'TLSv1.3',
  });
  t.teardown(() => socket.destroy());
  await once(socket, 'secureConnect');
  t.true(socket.authorized);
  t.is(socket.getProtocol(), 'TLSv1.3');
  t.deepEqual(await peer, certificate);
});
