/**
 * A gateway set up from `provision household` (its pki/ copied in, no root
 * key on it), and terminals paired with it over its terminal API: the
 * terminal's certificate comes from the enrollment intermediate and chains to
 * the household root, the terminal's key exists only in its own profile, and
 * wrong, expired, reused or foreign codes register nothing.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { loadTerminalProfile } from '../../card-io/access-card/terminal-profile.js';
import { AccessCard } from '../../card-io/access-card/access-card.js';
import { decodePairingCode, encodePairingCode } from '../../gateway/pairing/pairing-code.js';
import { PairingError } from '../../gateway/pairing/pairing-error.js';
import { pairTerminal } from '../../gateway/pairing/pair-terminal.js';
import { discoverGateway } from '../../gateway/pairing/mdns-service.js';
import { freePort } from '../helpers/link-probes.js';
import { provisionHousehold } from '../../provisioning/household-pki.js';
import { demoPins, startHousehold, type Household } from '../helpers/household/index.js';
import { runCli, transcript } from '../gateway/cli-process.js';

async function tempDir(t: ExecutionContext, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

let offsetMs = 0;

async function provisionedHousehold(t: ExecutionContext, mdnsPort?: number): Promise<{ h: Household; rootPem: string }> {
  const out = await tempDir(t, 'homegate-provisioned-');
  await provisionHousehold({ out, hostName: 'localhost', addresses: ['127.0.0.1'] });
  const h = await startHousehold(t, {
    clock: () => Date.now() + offsetMs,
    ...(mdnsPort ? { configure: (c) => void (c.pairing = { advertise: true, mdnsPort, instance: 'test-gateway' }) } : {}),
    prepareDataDir: (dataDir) => cp(join(out, 'gateway', 'pki'), join(dataDir, 'pki'), { recursive: true }),
  });
  return { h, rootPem: await readFile(join(out, 'household-ca.pem'), 'utf8') };
}

async function newCode(h: Household, name: string): Promise<string> {
  const r = await h.admin('POST', '/admin/pairing', { name, mail: `${name}@example.org`, gatewayUrl: h.gatewayUrl });
  return (r.pairing as { code: string }).code;
}

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof PairingError) return e.code;
    throw e;
  }
  throw new Error('expected a refusal');
}

test.serial(
  'A provisioned gateway pairs a terminal: its certificate chains through the enrollment intermediate, it opens the card, and its key exists only in its profile',
  async (t) => {
    const { h, rootPem } = await provisionedHousehold(t);
    t.false((await readdir(join(h.dataDir, 'pki'))).includes('household-ca.key'), 'the gateway holds no household root key');
    // The demo terminal, enrolled on the admin socket, already went through the intermediate.
    t.is((await readFile(join(h.profileDir(), 'terminal.pem'), 'utf8')).match(/BEGIN CERTIFICATE/g)?.length, 2);

    const terminalData = await tempDir(t, 'homegate-terminal-');
    const paired = await pairTerminal({ code: await newCode(h, 'phone'), terminalsDir: join(terminalData, 'terminals') });
    t.is(paired.name, 'phone');

    const profile = await loadTerminalProfile(paired.profileDir);
    t.is(profile.householdCaPem, rootPem);
    const leaf = new X509Certificate(profile.certificatePem);
    t.is(leaf.subject, 'CN=phone');
    t.true(leaf.issuer.includes('terminal enrollment CA'));
    t.is((await stat(join(paired.profileDir, 'terminal.key'))).mode & 0o777, 0o600);
    t.is(h.gateway.registry.listTerminals().find((x) => x.id === paired.terminalId)?.mail, 'phone@example.org');

    const access = new AccessCard(profile, demoPins);
    t.teardown(() => access.close());
    await access.unlock();
    await access.lock();

    // A terminal that sends its certificate without the intermediate (as some phones do) is identified too.
    const leafOnly = new AccessCard({ ...profile, certificatePem: leaf.toString() }, demoPins);
    t.teardown(() => leafOnly.close());
    await leafOnly.unlock();

    // The key's bytes (PEM and DER) are nowhere in the gateway's data directory.
    const der = profile.key.export({ type: 'pkcs8', format: 'der' });
    const pem = profile.keyPem.trim();
    for (const f of await filesUnder(h.dataDir)) {
      const bytes = await readFile(f);
      t.false(bytes.includes(der) || bytes.includes(Buffer.from(pem)), `${f} holds the terminal's key`);
    }
  },
);

test.serial('Wrong, expired, reused and other-household codes are refused, and nothing is registered', async (t) => {
  const { h } = await provisionedHousehold(t);
  const terminalsDir = join(await tempDir(t, 'homegate-terminal-'), 'terminals');
  const registered = () => h.gateway.registry.listTerminals().length;
  const before = registered();

  // Wrong: the right id with another secret.
  const wrong = decodePairingCode(await newCode(h, 'wrong'));
  wrong.secret = Buffer.alloc(16, 7);
  t.is(await refusal(pairTerminal({ code: encodePairingCode(wrong), terminalsDir })), 'pairing-refused');

  // Expired: the gateway's clock is 11 minutes on.
  const late = await newCode(h, 'late');
  offsetMs = 11 * 60_000;
  try {
    t.is(await refusal(pairTerminal({ code: late, terminalsDir })), 'pairing-refused');
  } finally {
    offsetMs = 0;
  }

  // Another household: its root's fingerprint in the code; the terminal sends nothing.
  const foreign = decodePairingCode(await newCode(h, 'foreign'));
  foreign.caFingerprint = createHash('sha256').update('another household root').digest();
  t.is(await refusal(pairTerminal({ code: encodePairingCode(foreign), terminalsDir })), 'gateway-not-pinned');
  t.is(registered(), before);

  // Reused: it pairs once, then never again.
  const once = await newCode(h, 'once');
  await pairTerminal({ code: once, terminalsDir });
  t.is(registered(), before + 1);
  t.is(await refusal(pairTerminal({ code: once, terminalsDir })), 'pairing-refused');
  t.is(registered(), before + 1);
  // A name already taken is refused when the code is made.
  await t.throwsAsync(h.admin('POST', '/admin/pairing', { name: 'once', mail: 'o@example.org' }), { message: /already named once/ });
  // No half profile is left behind by the refusals.
  t.deepEqual(await readdir(terminalsDir), ['once']);
});

test.serial('"homegate terminals pair" prints a code that "homegate terminal pair" redeems, both as JSON', async (t) => {
  const { h } = await provisionedHousehold(t);
  const made = await runCli(['--data', h.dataDir, 'terminals', 'pair', '--name', 'laptop', '--mail', 'l@example.org', '--url', h.gatewayUrl, '--json']);
  t.is(made.code, 0, transcript(made));
  const { code } = JSON.parse(made.stdout) as { code: string };
  const terminalData = await tempDir(t, 'homegate-terminal-');
  const paired = await runCli(['--data', terminalData, 'terminal', 'pair', code, '--json']);
  t.is(paired.code, 0, transcript(paired));
  t.like(JSON.parse(paired.stdout), { name: 'laptop', gatewayUrl: h.gatewayUrl });
  // For people: the code, the command to type, and the QR code drawn in half blocks.
  const shown = await runCli(['--data', h.dataDir, 'terminals', 'pair', '--name', 'tv', '--mail', 't@example.org']);
  t.is(shown.code, 0, transcript(shown));
  t.regex(shown.stdout, /homegate terminal pair HG1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\n/);
  t.true(shown.stdout.split('\n').filter((l) => /^[█▀▄ ]{30,}$/.test(l)).length >= 15, shown.stdout);
  const again = await runCli(['--data', terminalData, 'terminal', 'pair', code]);
  t.is(again.code, 1, transcript(again));
  t.regex(again.stderr, /wrong, expired or already used/);
});

test.serial('A code without a URL pairs with the gateway found by mDNS (_homegate._tcp), pinned by the household root', async (t) => {
  const mdnsPort = await freePort(); // a private port: neither the LAN's mDNS nor another test answers
  const { h } = await provisionedHousehold(t, mdnsPort);
  const r = await h.admin('POST', '/admin/pairing', { name: 'tablet', mail: 'tablet@example.org' });
  const code = (r.pairing as { code: string }).code;
  t.is(decodePairingCode(code).gatewayUrl, undefined, 'an advertising gateway leaves the URL out of the code');
  const found = await discoverGateway({ mdnsPort, timeoutMs: 5000 });
  t.regex(found ?? 'no mDNS answer within 5 s (is multicast routed on this host?)', new RegExp(`^https://[^/]+:${h.gateway.port}$`));
  const terminalsDir = join(await tempDir(t, 'homegate-terminal-'), 'terminals');
  const paired = await pairTerminal({ code, terminalsDir, discover: () => discoverGateway({ mdnsPort, timeoutMs: 5000 }) });
  t.is(paired.name, 'tablet');
  const access = new AccessCard(await loadTerminalProfile(paired.profileDir), demoPins);
  t.teardown(() => access.close());
  await access.unlock();
});
