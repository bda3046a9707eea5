/**
 * `homegate terminal export`: a PKCS#12 file that OpenSSL reads back with the
 * password (key, certificate, intermediate and root), that it refuses with
 * another password, and that Node's TLS loads as an identity; the password
 * rules are checked before anything is written.
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import type { ExecutionContext } from 'ava';
import anyTest from 'ava';
import { silentLogger } from '../../card-io/base/log.js';
import { enrollTerminal } from '../../gateway/enrollment/enroll-terminal.js';
import { Registry } from '../../gateway/registry/index.js';
import { provisionHousehold } from '../../provisioning/household-pki.js';
import { loadTerminalIssuer } from '../../provisioning/terminal-issuer.js';
import { needsBinary } from '../helpers/binaries.js';
import { runCli, transcript } from './cli-process.js';

const openssl = needsBinary('openssl');
const PASSWORD = 'correct horse battery';

/** A terminal profile under <data>/terminals/phone, certified by a provisioned household's enrollment intermediate. */
async function terminalData(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'homegate-export-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await provisionHousehold({ out: join(dir, 'household') });
  await cp(join(dir, 'household', 'gateway', 'pki'), join(dir, 'gateway', 'pki'), { recursive: true });
  const registry = new Registry({ path: join(dir, 'gateway', 'registry.json'), logger: silentLogger });
  await registry.open();
  const householdCa = await loadTerminalIssuer(join(dir, 'gateway', 'pki'));
  await enrollTerminal({
    registry,
    householdCa,
    name: 'phone',
    mail: 'p@example.org',
    gatewayUrl: 'https://localhost:8443',
    terminalsDir: join(dir, 'terminal', 'terminals'),
    logger: silentLogger,
  });
  return join(dir, 'terminal');
}

openssl.test('The exported PKCS#12 is read back by openssl with its password: the key, the certificate, the intermediate and the root', async (t) => {
  const data = await terminalData(t);
  const out = join(data, 'phone.p12');
  const r = await runCli(['--data', data, 'terminal', 'export', '--out', out, '--json'], { input: `${PASSWORD}\n${PASSWORD}\n` });
  t.is(r.code, 0, transcript(r));
  t.like(JSON.parse(r.stdout), { terminal: 'phone', certificates: 3 });
  t.is((await stat(out)).mode & 0o777, 0o600);

  const passFile = join(data, 'pass');
  await writeFile(passFile, `${PASSWORD}\n`, { mode: 0o600 });
  const pem = execFileSync('openssl', ['pkcs12', '-in', out, '-passin', `file:${passFile}`, '-nodes'], { encoding: 'utf8' });
  const key = createPrivateKey(pem.slice(pem.indexOf('-----BEGIN PRIVATE KEY-----')));
  const profileKey = createPrivateKey(await readFile(join(data, 'terminals', 'phone', 'terminal.key')));
  t.deepEqual(key.export({ type: 'pkcs8', format: 'der' }), profileKey.export({ type: 'pkcs8', format: 'der' }));
  const subjects = [...pem.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)].map((m) => new X509Certificate(m[0]).subject);
  t.deepEqual(subjects, ['CN=phone', 'CN=homegate household terminal enrollment CA', 'CN=homegate household root CA']);

  const wrong = join(data, 'wrong');
  await writeFile(wrong, 'not the password\n', { mode: 0o600 });
  t.throws(() => execFileSync('openssl', ['pkcs12', '-in', out, '-passin', `file:${wrong}`, '-noout'], { stdio: 'pipe' }));

  // Node's TLS (OpenSSL underneath) takes it as an identity too.
  const p12 = await readFile(out);
  t.notThrows(() => createSecureContext({ pfx: p12, passphrase: PASSWORD }));
});

anyTest('A short or mistyped export password is refused before any file is written', async (t) => {
  const data = await terminalData(t);
  const out = join(data, 'phone.p12');
  const short = await runCli(['--data', data, 'terminal', 'export', '--out', out], { input: 'short\nshort\n' });
  t.is(short.code, 1, transcript(short));
  t.regex(short.stderr, /at least 8 characters/);
  const mismatch = await runCli(['--data', data, 'terminal', 'export', '--out', out], { input: `${PASSWORD}\n${PASSWORD}x\n` });
  t.is(mismatch.code, 1, transcript(mismatch));
  t.regex(mismatch.stderr, /differ/);
  await t.throwsAsync(stat(out));
});
