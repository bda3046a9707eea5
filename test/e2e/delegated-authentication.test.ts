/**
 * Delegated market authentication, end to end (claims 1, 2, 3, 7, 10): a
 * terminal unlocks the home card (PIN1), the gateway authenticates to the
 * market with a session certificate the card signs (PIN2), and the terminal
 * resumes the handed TLS session itself; the market sees the card's identity.
 * Real processes and sockets: the card emulator is its own process on a pty
 * (socat) or a TCP line, the terminal CLI is its own process.
 */
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { marketRequest } from '../../card-io/access-card/market-request.js';
import { silentLogger } from '../../card-io/base/log.js';
import { HOMEGATE_BIN } from '../../deploy/sandbox/household/emulator-child.js';
import { startSandboxHousehold } from '../../deploy/sandbox/household/household.js';
import { derToPem } from '../../provisioning/pki/index.js';
import { needsBinary } from '../helpers/binaries.js';
import { DEMO_PINS, MARKET, dn, serialWhen, startHousehold, startRecordingMarket, normName } from '../helpers/household/index.js';
import { freePort } from '../helpers/link-probes.js';

const socat = needsBinary('socat');

interface WhoAmI {
  clientSubject: string | null;
  clientIssuer: string | null;
  chain: string[];
  clientVerified: boolean;
  resumed: boolean;
  tlsVersion: string | null;
}

serialWhen(socat)(
  'On a pty card line, a terminal unlocks with PIN1, the gateway authenticates with the card after PIN2, and the terminal resumes the handed ' +
    'session as the card',
  async (t) => {
    const h = await startHousehold(t, { line: 'pty' });
    t.true(h.cardDevice.startsWith('/'), `the gateway opens the card on the pty (${h.cardDevice})`);
    const asked: string[] = [];
    const access = await h.accessCard(undefined, async (which) => {
      asked.push(which);
      return which === 'PIN1' ? DEMO_PINS.pin1 : DEMO_PINS.pin2;
    });

    await access.unlock();
    t.true(await access.isUnlocked());
    const session = await access.authorize(MARKET);
    t.deepEqual(asked, ['PIN1', 'PIN2']);
    t.is(session.market, MARKET);
    t.is(session.servername, 'localhost');
    t.true(session.session.length > 0);
    const leafLifetime = Date.parse(session.certificateExpiresAt) - Date.now();
    t.true(leafLifetime > 0 && leafLifetime <= 15 * 60_000, `leaf expires in ${leafLifetime} ms`);

    const response = await marketRequest(session, { method: 'GET', path: '/whoami' });
    t.is(response.status, 200);
    const who = JSON.parse(response.body.toString('utf8')) as WhoAmI;
    t.true(who.resumed, 'the market saw a resumed session');
    t.true(who.clientVerified);
    t.is(who.tlsVersion, 'TLSv1.3');
    t.is(normName(who.clientIssuer), normName(h.cardSubject()), 'the client certificate was issued by the home card');
    t.is(normName(who.clientSubject), normName(session.clientSubject));
    // A resumed session may carry the leaf only (OpenSSL keeps the peer certificate in a session, not its chain).
    const issuerSubject = dn(new X509Certificate(h.issuerCertificate).subject);
    const fullChain = [session.clientSubject, h.cardSubject(), issuerSubject].map(normName);
    t.deepEqual(who.chain.map(normName), fullChain.slice(0, Math.max(1, who.chain.length)));

    // What the gateway presented on its own (full) handshake: leaf → card, which the market chained to the issuer.
    const recording = await startRecordingMarket({
      serverCert: h.marketPki.serverCertificate,
      serverKey: h.marketPki.serverKey,
      clientCa: h.issuerCertificate,
    });
    t.teardown(() => recording.stop());
    await h.gateway.registry.addMarket({ name: 'recording', url: `https://localhost:${recording.port}`, anchorPem: derToPem(h.marketPki.caCertificate) });
    const second = await access.authorize('recording');
    t.deepEqual(asked, ['PIN1', 'PIN2', 'PIN2'], 'PIN2 is asked for each authorization, PIN1 not again');
    const resumed = JSON.parse((await marketRequest(second, { method: 'GET', path: '/whoami' })).body.toString('utf8')) as WhoAmI;
    t.true(resumed.resumed);
    t.is(recording.fullHandshakeChains.length, 1, "one full handshake: the gateway's");
    const [leaf, card, issuer, ...more] = recording.fullHandshakeChains[0]!;
    t.is(normName(dn(new X509Certificate(leaf!).subject)), normName(second.clientSubject));
    t.true(card?.equals(h.gateway.cards.certificate!), "the certificate after the leaf is the home card's");
    t.true(issuer?.equals(h.issuerCertificate), 'the market chained the card to the issuer CA it trusts');
    t.is(more.length, 0);
  },
);

test.serial(
  'The terminal CLI unlocks with PIN1 from stdin, ' + 'then gets /whoami from the sandbox market over the resumed session with PIN2 from stdin',
  async (t) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'homegate-e2e-cli-'));
    t.teardown(() => rm(dataDir, { recursive: true, force: true }));
    const ports = { card: await freePort(), gateway: await freePort(), market: await freePort(), issuer: await freePort(), mqtt: await freePort() };
    const household = await startSandboxHousehold({ dataDir, ports, logger: silentLogger, say: () => undefined });
    t.teardown(() => household.stop());
    const cardSubject = dn(new X509Certificate(household.gateway.cards.certificate!).subject);

    const run = async (args: string[], input: string) => {
      const child = spawn(process.execPath, [HOMEGATE_BIN, '--data', dataDir, 'terminal', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
      child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
      child.stdin.end(input);
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const exit = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
      clearTimeout(timer);
      return { code: exit, stdout: out, stderr: err };
    };
    const unlock = await run(['unlock'], `${DEMO_PINS.pin1}\n`);
    t.is(unlock.code, 0, unlock.stderr);
    const { code, stdout, stderr } = await run(['get', MARKET, '/whoami', '--json'], `${DEMO_PINS.pin2}\n`);

    t.is(code, 0, stderr);
    const out = JSON.parse(stdout) as { status: number; resumed: boolean; market: string; clientSubject: string; body: WhoAmI };
    t.is(out.status, 200);
    t.is(out.market, MARKET);
    t.true(out.resumed);
    t.true(out.body.resumed, 'the market saw a resumed session');
    t.is(normName(out.body.clientIssuer), normName(cardSubject));
    t.is(normName(out.body.clientSubject), normName(out.clientSubject));
    t.false(`${stdout}${stderr}`.includes(DEMO_PINS.pin1) || `${stdout}${stderr}`.includes(DEMO_PINS.pin2), 'no PIN is echoed');
  },
);
