import test from 'ava';
import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { signRequest } from '../../card-io/access-card/request-signer.js';
import { isApiError } from '../../gateway/terminal-api/api-error.js';
import { SignedRequestVerifier } from '../../gateway/terminal-api/request-signature.js';
import { isRequestSignatureError, type RequestSignatureErrorCode } from '../../gateway/terminal-api/request-signature-error.js';
import { decodePayload, signRaw, twoTerminals, unsecured, withPayload, type TestTerminal } from './request-signature-fixtures.js';

const NOW = Date.parse('2031-05-01T10:00:00Z');
const { alice, bob } = await twoTerminals();

function verifier(o: { now?: number; startedAt?: number } = {}) {
  return new SignedRequestVerifier({ startedAt: o.startedAt ?? NOW - 3_600_000, clock: () => o.now ?? NOW });
}

function aliceSigns(o: { body?: Record<string, unknown>; path?: string; method?: string; at?: number; as?: TestTerminal } = {}) {
  const signer = o.as ?? alice;
  return signRequest({
    terminalId: signer.id,
    privateKey: signer.privateKey,
    method: o.method ?? 'POST',
    path: o.path ?? '/v1/authorize',
    body: o.body ?? { market: 'sandbox', pin2: '5678' },
    clock: () => o.at ?? NOW,
  });
}

/** What the listener passes for a request from `who` on its own TLS connection. */
const request = (jws: string, who: TestTerminal = alice, path = '/v1/authorize', method = 'POST') => ({
  jws,
  certificate: who.certificate,
  terminal: { id: who.id, certFingerprint: who.certFingerprint },
  method,
  path,
});

const STATUS: Record<RequestSignatureErrorCode, number> = {
  'signature-invalid': 401,
  'signature-identity-mismatch': 403,
  'signature-wrong-request': 400,
  'request-expired': 401,
  'request-replayed': 409,
};

async function refused(t: import('ava').ExecutionContext, p: Promise<unknown>, code: RequestSignatureErrorCode, reason?: string) {
  const err = await t.throwsAsync(p);
  t.true(isRequestSignatureError(err, code), `expected ${code}, got ${String(err)}`);
  if (!isRequestSignatureError(err)) return;
  t.is(err.status, STATUS[code]);
  t.true(isApiError(err), 'the listener answers it like any ApiError');
  t.is(err.toJSON().error.code, code);
  if (reason) t.is(err.reason, reason);
}

test('A correctly signed request is accepted and its body is returned', async (t) => {
  const jws = await aliceSigns();
  t.regex(jws, /^[\w-]+\.[\w-]+\.[\w-]+$/);
  t.deepEqual(await verifier().verify(request(jws)), { market: 'sandbox', pin2: '5678' });
  // the listener's parsed X509Certificate works as well as DER
  const v = verifier();
  t.deepEqual(await v.verify({ ...request(await aliceSigns()), certificate: new X509Certificate(alice.certificate) }), { market: 'sandbox', pin2: '5678' });
});

test("A request signed with another key than the presented certificate's is signature-invalid", async (t) => {
  const jws = await signRequest({ terminalId: alice.id, privateKey: bob.privateKey, method: 'POST', path: '/v1/authorize', body: {}, clock: () => NOW });
  await refused(t, verifier().verify(request(jws)), 'signature-invalid', 'signature');
});

test('alg none, HS256 keyed with the public certificate, and ES384 are all signature-invalid', async (t) => {
  const payload = decodePayload(await aliceSigns());
  await refused(t, verifier().verify(request(unsecured({ alg: 'none', kid: alice.id }, payload))), 'signature-invalid', 'alg');
  // the classic confusion: HMAC keyed with bytes the attacker knows (the certificate)
  const hs = await signRaw({ alg: 'HS256', kid: alice.id }, payload, alice.certificate);
  await refused(t, verifier().verify(request(hs)), 'signature-invalid', 'alg');
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
  await refused(t, verifier().verify(request(await signRaw({ alg: 'ES384', kid: alice.id }, payload, p384))), 'signature-invalid', 'alg');
  await refused(t, verifier().verify(request('not.a.jws')), 'signature-invalid');
  await refused(t, verifier().verify(request('')), 'signature-invalid');
});

test('A payload changed after signing is signature-invalid', async (t) => {
  const jws = await aliceSigns({ body: { market: 'sandbox', pin2: '5678' } });
  const tampered = withPayload(jws, { ...decodePayload(jws), body: { market: 'evil', pin2: '5678' } });
  await refused(t, verifier().verify(request(tampered)), 'signature-invalid', 'signature');
});

test('A request naming another terminal in kid or tid is signature-identity-mismatch', async (t) => {
  // alice signs correctly with her own key but claims to be bob
  const asBob = await signRequest({ terminalId: bob.id, privateKey: alice.privateKey, method: 'POST', path: '/v1/authorize', body: {}, clock: () => NOW });
  await refused(t, verifier().verify(request(asBob)), 'signature-identity-mismatch', 'kid-tid');
  const payload = { ...decodePayload(await aliceSigns()), tid: bob.id };
  const tidOnly = await signRaw({ alg: 'ES256', kid: alice.id }, payload, alice.privateKey);
  await refused(t, verifier().verify(request(tidOnly)), 'signature-identity-mismatch', 'kid-tid');
});

test('A certificate that is not the enrolled one is signature-identity-mismatch', async (t) => {
  const jws = await aliceSigns({ as: bob });
  const p = verifier().verify({ ...request(jws, bob), terminal: { id: bob.id, certFingerprint: alice.certFingerprint } });
  await refused(t, p, 'signature-identity-mismatch', 'certificate');
});

test('A signature for another path or method is signature-wrong-request', async (t) => {
  const jws = await aliceSigns({ path: '/v1/card/unlock' });
  await refused(t, verifier().verify(request(jws, alice, '/v1/authorize')), 'signature-wrong-request');
  const get = await aliceSigns({ method: 'GET' });
  await refused(t, verifier().verify(request(get, alice, '/v1/authorize', 'POST')), 'signature-wrong-request');
});

test('iat more than 120 s away from the gateway clock is request-expired; 120 s is still accepted', async (t) => {
  await refused(t, verifier().verify(request(await aliceSigns({ at: NOW - 121_000 }))), 'request-expired', 'iat-window');
  await refused(t, verifier().verify(request(await aliceSigns({ at: NOW + 121_000 }))), 'request-expired', 'iat-window');
  await t.notThrowsAsync(verifier().verify(request(await aliceSigns({ at: NOW - 120_000 }))));
  await t.notThrowsAsync(verifier().verify(request(await aliceSigns({ at: NOW + 120_000 }))));
});

test('A request signed before the gateway started is request-expired, even inside the window', async (t) => {
  const v = verifier({ startedAt: NOW - 30_000 });
  await refused(t, v.verify(request(await aliceSigns({ at: NOW - 60_000 }))), 'request-expired', 'iat-before-start');
  await t.notThrowsAsync(v.verify(request(await aliceSigns({ at: NOW - 30_000 }))));
});

test('The same signed request sent twice is request-replayed the second time', async (t) => {
  const v = verifier();
  const jws = await aliceSigns();
  await v.verify(request(jws));
  await refused(t, v.verify(request(jws)), 'request-replayed', 'nonce-seen');
  // a fresh signature of the same body is a new request
  await t.notThrowsAsync(v.verify(request(await aliceSigns())));
});

test('A refused request does not use up its nonce', async (t) => {
  const v = verifier();
  const jws = await aliceSigns();
  await refused(t, v.verify(request(jws, alice, '/v1/card/lock')), 'signature-wrong-request');
  await t.notThrowsAsync(v.verify(request(jws)));
});

test('Nonces shorter than 16 bytes or not base64url, and malformed payloads, are signature-invalid', async (t) => {
  const base = decodePayload(await aliceSigns());
  const forged = (payload: Record<string, unknown>) => signRaw({ alg: 'ES256', kid: alice.id }, payload, alice.privateKey);
  await refused(t, verifier().verify(request(await forged({ ...base, nonce: randomBytes(15).toString('base64url') }))), 'signature-invalid', 'nonce-format');
  const badNonce = await forged({ ...base, nonce: randomBytes(16).toString('base64') + '+/' });
  await refused(t, verifier().verify(request(badNonce)), 'signature-invalid', 'nonce-format');
  await t.notThrowsAsync(verifier().verify(request(await forged({ ...base, nonce: randomBytes(16).toString('base64url') }))));
  for (const broken of [{ ...base, body: undefined }, { ...base, body: [1] }, { ...base, iat: String(base.iat) }, { ...base, tid: undefined }, [1, 2]]) {
    await refused(t, verifier().verify(request(await forged(broken as Record<string, unknown>))), 'signature-invalid', 'payload-fields');
  }
});

test('The signer writes the API.md payload: tid, a 16-byte nonce, iat in seconds, method, path and body', async (t) => {
  const jws = await aliceSigns({ method: 'post', path: '/v1/card/lock', body: {}, at: NOW + 999 });
  const [header] = jws.split('.');
  t.deepEqual(JSON.parse(Buffer.from(header!, 'base64url').toString()), { alg: 'ES256', kid: alice.id });
  const p = decodePayload(jws);
  t.deepEqual({ ...p, nonce: undefined }, { tid: alice.id, nonce: undefined, iat: NOW / 1000, method: 'POST', path: '/v1/card/lock', body: {} });
  t.is(Buffer.from(p.nonce as string, 'base64url').length, 16);
  const edKey = generateKeyPairSync('ed25519').privateKey;
  await t.throwsAsync(signRequest({ terminalId: alice.id, privateKey: edKey, method: 'POST', path: '/', body: {} }), { instanceOf: TypeError });
});
