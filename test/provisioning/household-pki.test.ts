/**
 * `provision household`: the root key stays in the output directory, the
 * gateway's folder holds the enrollment intermediate and the TLS certificate
 * naming the host, its .local name and the addresses given; and a household is
 * never provisioned twice into one place.
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { provisionHousehold } from '../../provisioning/household-pki.js';
import { isEnrollmentError } from '../../provisioning/enrollment-error.js';
import { createCaCertificate, createClientCertificate, derToPem, generateP256KeyPair, pemToDer } from '../../provisioning/pki/index.js';
import { needsBinary } from '../helpers/binaries.js';

const openssl = needsBinary('openssl');

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out;
}

test('provision household keeps the root key (0600) out of the gateway folder and names the gateway by host, host.local and the given addresses', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'homegate-household-'));
  t.teardown(() => rm(out, { recursive: true, force: true }));
  const h = await provisionHousehold({ out, hostName: 'gw', addresses: ['192.168.1.20', 'gateway.home.arpa'] });

  t.is((await stat(join(out, 'household-ca.key'))).mode & 0o777, 0o600);
  for (const key of ['enrollment-ca.key', 'gateway.key']) t.is((await stat(join(out, 'gateway', 'pki', key))).mode & 0o777, 0o600, key);
  t.is((await stat(join(out, 'gateway', 'pki'))).mode & 0o777, 0o700);

  const rootKey = (await readFile(join(out, 'household-ca.key'), 'utf8')).trim();
  for (const f of await filesUnder(h.gatewayDataDir)) t.false((await readFile(f, 'utf8')).includes(rootKey), `${f} holds the root key`);

  const root = new X509Certificate(await readFile(join(out, 'household-ca.pem')));
  const intermediate = new X509Certificate(await readFile(join(out, 'gateway', 'pki', 'enrollment-ca.pem')));
  const server = new X509Certificate(await readFile(join(out, 'gateway', 'pki', 'gateway.pem')));
  t.true(intermediate.checkIssued(root) && intermediate.verify(root.publicKey) && intermediate.ca);
  t.true(server.checkIssued(root) && server.verify(root.publicKey));
  t.is(server.subjectAltName, 'DNS:gw, DNS:gw.local, DNS:gateway.home.arpa, IP Address:192.168.1.20');
  t.is(h.fingerprint, root.fingerprint256);
});

test('provision household refuses a directory that already holds a household, and changes nothing there', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'homegate-household-'));
  t.teardown(() => rm(out, { recursive: true, force: true }));
  await provisionHousehold({ out });
  const before = await readFile(join(out, 'household-ca.key'));
  const e = await t.throwsAsync(provisionHousehold({ out }));
  t.true(isEnrollmentError(e, 'household-exists'));
  t.deepEqual(await readFile(join(out, 'household-ca.key')), before);
});

test('provision household refuses a host name that is not one before writing anything', async (t) => {
  const out = join(tmpdir(), `homegate-household-none-${process.pid}`);
  const e = await t.throwsAsync(provisionHousehold({ out, hostName: 'not a host' }));
  t.true(isEnrollmentError(e, 'invalid'));
  await t.throwsAsync(stat(out));
});

openssl.test(
  'The enrollment intermediate on the gateway cannot make a CA: a chain through a CA it signed fails verification, its own leaves pass',
  async (t) => {
    const out = await mkdtemp(join(tmpdir(), 'homegate-household-'));
    t.teardown(() => rm(out, { recursive: true, force: true }));
    await provisionHousehold({ out, hostName: 'gw', addresses: [] });
    const pki = join(out, 'gateway', 'pki');
    const enrollmentPem = await readFile(join(pki, 'enrollment-ca.pem'), 'utf8');
    const enrollment = { certificate: pemToDer(enrollmentPem), privateKey: createPrivateKey(await readFile(join(pki, 'enrollment-ca.key'))) };
    // What a thief of the gateway's disk could try: a CA of its own under the intermediate, then terminals under it.
    const rogue = generateP256KeyPair();
    const rogueCa = {
      certificate: await createCaCertificate({ subject: 'CN=rogue', subjectPublicKey: rogue.publicKey, issuer: enrollment }),
      privateKey: rogue.privateKey,
    };
    const leaf = await createClientCertificate({ subject: 'CN=rogue terminal', subjectPublicKey: generateP256KeyPair().publicKey, issuer: rogueCa });
    const honest = await createClientCertificate({ subject: 'CN=kitchen', subjectPublicKey: generateP256KeyPair().publicKey, issuer: enrollment });
    await writeFile(join(out, 'chain.pem'), enrollmentPem + derToPem(rogueCa.certificate));
    await writeFile(join(out, 'rogue.pem'), derToPem(leaf));
    await writeFile(join(out, 'honest.pem'), derToPem(honest));
    const verify = (leafFile: string) =>
      execFileSync('openssl', ['verify', '-purpose', 'sslclient', '-CAfile', join(out, 'household-ca.pem'), '-untrusted', join(out, 'chain.pem'), leafFile], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    t.regex(verify(join(out, 'honest.pem')), /OK/);
    const refused = t.throws(() => verify(join(out, 'rogue.pem')));
    t.regex(String((refused as Error & { stdout?: string }).stdout) + String((refused as Error & { stderr?: string }).stderr), /path length/i);
  },
);
