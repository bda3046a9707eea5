/**
 * Identification and signed requests, end to end (claims 8, 9; API.md): the
 * gateway proxies only for registered, active terminals whose requests carry
 * a valid, fresh signature with the key of the certificate they present.
 * Every refusal here must leave the home card and the market untouched.
 */
import test, { type ExecutionContext } from 'ava';
import { signRequest } from '../../card-io/access-card/request-signer.js';
import { createClientCertificate, createRootCa, derToPem, generateP256KeyPair, type IssuingCa } from '../../provisioning/pki/index.js';
import { DEMO_PINS, MARKET, asTerminal, errorOf, gatewayRequest, refusalOf, startHousehold, type Household } from '../helpers/household/index.js';

/** What a refused request must not have touched: card commands and market connections. */
function untouched(t: ExecutionContext, h: Household): () => void {
  const commands = h.gateway.cards.commandCount;
  const connections = h.relay.connections();
  return () => {
    t.is(h.gateway.cards.commandCount, commands, 'no command reached the home card');
    t.is(h.relay.connections(), connections, 'no connection reached the market');
  };
}

/** A key pair and a client certificate issued by `ca`, as a terminal would present them. */
async function strangerFrom(ca: IssuingCa, name: string) {
  const keys = generateP256KeyPair();
  const certificate = await createClientCertificate({ subject: `CN=${name}`, subjectPublicKey: keys.publicKey, issuer: ca });
  return { key: keys.privateKey, certPem: derToPem(certificate), keyPem: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

async function assertUnknownTerminalRefused(t: ExecutionContext, h: Household, ca: IssuingCa): Promise<void> {
  const demo = await h.loadProfile();
  const stranger = await strangerFrom(ca, 'stranger');
  const check = untouched(t, h);
  const as = { url: h.gatewayUrl, caPem: demo.householdCaPem, certPem: stranger.certPem, keyPem: stranger.keyPem };

  const whoami = await gatewayRequest({ ...as, method: 'GET', path: '/v1/whoami' });
  t.is(whoami.status, 403);
  t.is(errorOf(whoami).code, 'terminal-unknown');
  for (const [path, body] of [
    ['/v1/card/unlock', { pin1: DEMO_PINS.pin1 }],
    ['/v1/authorize', { market: MARKET, pin2: DEMO_PINS.pin2 }],
  ] as const) {
    // Signed with the stranger's own key, and even claiming the demo terminal's id.
    const jws = await signRequest({ terminalId: demo.terminalId, privateKey: stranger.key, method: 'POST', path, body });
    const r = await gatewayRequest({ ...as, method: 'POST', path, body: jws });
    t.is(r.status, 403, path);
    t.is(errorOf(r).code, 'terminal-unknown', path);
  }
  check();
}

test.serial(
  'A certificate from the household CA that was never registered is refused as terminal-unknown, ' + 'and nothing reaches the card or the market',
  async (t) => {
    const h = await startHousehold(t);
    await assertUnknownTerminalRefused(t, h, h.householdCa);
  },
);

test.serial('A certificate from a foreign CA is refused as terminal-unknown, and nothing reaches the card or the market', async (t) => {
  const h = await startHousehold(t);
  const { privateKey } = generateP256KeyPair();
  const foreign: IssuingCa = { privateKey, certificate: await createRootCa({ subject: 'CN=Some other household CA', privateKey }) };
  await assertUnknownTerminalRefused(t, h, foreign);
});

test.serial('A terminal revoked on the admin socket while its card session is open is refused as terminal-revoked, and its card session ends', async (t) => {
  const h = await startHousehold(t);
  const access = await h.accessCard();
  await access.unlock();
  const id = access.profile.terminalId;

  t.true(h.gateway.sessions.isOpen(id));
  const revoked = await h.admin('POST', `/admin/terminals/${id}/revoke`);
  t.deepEqual(revoked.terminal, { id, name: 'demo', status: 'revoked' });
  t.false(h.gateway.sessions.isOpen(id), "revoking ended the terminal's card session (and forgot its PIN1)");
  const check = untouched(t, h);

  t.like(await refusalOf(access.isUnlocked()), { status: 403, code: 'terminal-revoked' });
  t.like(await refusalOf(access.gateway.post('/v1/authorize', { market: MARKET, pin2: DEMO_PINS.pin2 })), { status: 403, code: 'terminal-revoked' });
  t.like(await refusalOf(access.unlock()), { status: 403, code: 'terminal-revoked' });
  check();
  const listed = (await h.admin('GET', '/admin/terminals')).terminals as Array<{ id: string; status: string }>;
  t.is(listed.find((x) => x.id === id)?.status, 'revoked');
});

test.serial("A request signed with another key than the terminal certificate's is refused as signature-invalid, without touching the card", async (t) => {
  const h = await startHousehold(t);
  const demo = await h.loadProfile();
  const check = untouched(t, h);
  const forger = generateP256KeyPair().privateKey;
  const jws = await signRequest({ terminalId: demo.terminalId, privateKey: forger, method: 'POST', path: '/v1/card/unlock', body: { pin1: DEMO_PINS.pin1 } });

  const r = await gatewayRequest({ ...asTerminal(demo), method: 'POST', path: '/v1/card/unlock', body: jws });
  t.is(r.status, 401);
  t.is(errorOf(r).code, 'signature-invalid');
  check();
  const whoami = await gatewayRequest({ ...asTerminal(demo), method: 'GET', path: '/v1/whoami' });
  t.is(whoami.json.cardUnlocked, false, 'the forged unlock opened no card session');
});

test.serial(
  'A request signed by a terminal in the name of another terminal is refused as signature-identity-mismatch, ' + 'without touching the card',
  async (t) => {
    const h = await startHousehold(t);
    const enrolled = (await h.admin('POST', '/admin/terminals', { name: 'laptop', mail: 'laptop@household.example' })).terminal as { id: string };
    const demo = await h.loadProfile();
    t.not(enrolled.id, demo.terminalId);
    const check = untouched(t, h);
    // The demo terminal's own key and certificate, but the laptop's id as kid and tid.
    const jws = await signRequest({ terminalId: enrolled.id, privateKey: demo.key, method: 'POST', path: '/v1/card/unlock', body: { pin1: DEMO_PINS.pin1 } });

    const r = await gatewayRequest({ ...asTerminal(demo), method: 'POST', path: '/v1/card/unlock', body: jws });
    t.is(r.status, 403);
    t.is(errorOf(r).code, 'signature-identity-mismatch');
    check();
  },
);

test.serial(
  'The exact same signed authorization sent twice is refused the second time as request-replayed, and the replay touches neither the card nor the ' + 'market',
  async (t) => {
    const h = await startHousehold(t);
    const access = await h.accessCard();
    await access.unlock();
    const demo = access.profile;
    const jws = await signRequest({
      terminalId: demo.terminalId,
      privateKey: demo.key,
      method: 'POST',
      path: '/v1/authorize',
      body: { market: MARKET, pin2: DEMO_PINS.pin2 },
    });

    const first = await gatewayRequest({ ...asTerminal(demo), method: 'POST', path: '/v1/authorize', body: jws });
    t.is(first.status, 200, JSON.stringify(first.json));
    t.is(typeof first.json.session, 'string');
    const check = untouched(t, h);
    const second = await gatewayRequest({ ...asTerminal(demo), method: 'POST', path: '/v1/authorize', body: jws });
    t.is(second.status, 409);
    t.is(errorOf(second).code, 'request-replayed');
    t.false('session' in second.json);
    check();
  },
);
