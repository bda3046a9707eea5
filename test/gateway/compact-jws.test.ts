/**
 * The compact JWS reader of the terminal API (gateway/terminal-api/compact-jws.ts):
 * it agrees with jose on what verifies, and is stricter on what it reads.
 */
import test from 'ava';
import { generateKeyPairSync } from 'node:crypto';
import { CompactSign, compactVerify } from 'jose';
import { signRequest } from '../../card-io/access-card/request-signer.js';
import { CompactJwsError, parseCompactJws, verifyEs256 } from '../../gateway/terminal-api/compact-jws.js';

const alice = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const bob = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

test("an ES256 JWS made by jose verifies with the signer's key and not with another", async (t) => {
  const jws = await new CompactSign(Buffer.from('{"a":1}')).setProtectedHeader({ alg: 'ES256', kid: 't1' }).sign(alice.privateKey);
  const parsed = parseCompactJws(jws);
  t.deepEqual(parsed.header, { alg: 'ES256', kid: 't1' });
  t.is(parsed.payload.toString('utf8'), '{"a":1}');
  t.true(verifyEs256(parsed, alice.publicKey));
  t.false(verifyEs256(parsed, bob.publicKey));
});

test("the access card's signed request verifies with jose too", async (t) => {
  const jws = await signRequest({ terminalId: 't1', privateKey: alice.privateKey, method: 'POST', path: '/v1/authorize', body: { market: 'm' } });
  const { payload, protectedHeader } = await compactVerify(jws, alice.publicKey, { algorithms: ['ES256'] });
  t.deepEqual(protectedHeader, { alg: 'ES256', kid: 't1' });
  t.is((JSON.parse(Buffer.from(payload).toString('utf8')) as { path: string }).path, '/v1/authorize');
});

test('a changed payload, a DER-encoded or truncated signature do not verify', async (t) => {
  const jws = await new CompactSign(Buffer.from('{"a":1}')).setProtectedHeader({ alg: 'ES256' }).sign(alice.privateKey);
  const [h, , s] = jws.split('.') as [string, string, string];
  t.false(verifyEs256(parseCompactJws(`${h}.${b64({ a: 2 })}.${s}`), alice.publicKey));
  t.false(verifyEs256(parseCompactJws(`${h}.${b64({ a: 1 })}.${s.slice(0, 40)}`), alice.publicKey));
  t.false(verifyEs256(parseCompactJws(`${h}.${b64({ a: 1 })}.`), alice.publicKey));
});

test('two or four parts, padding or other characters, a header that is no JSON object, and crit are refused when read', (t) => {
  const reason = (jws: string) => (t.throws(() => parseCompactJws(jws), { instanceOf: CompactJwsError }) as CompactJwsError).reason;
  t.is(reason(`${b64({ alg: 'ES256' })}.${b64({})}`), 'parts');
  t.is(reason(`${b64({ alg: 'ES256' })}.${b64({})}.AA.AA`), 'parts');
  t.is(reason(`${b64({ alg: 'ES256' })}=.${b64({})}.AA`), 'base64url');
  t.is(reason(`${b64({ alg: 'ES256' })}.${b64({})}.A+/A`), 'base64url');
  t.is(reason(`.${b64({})}.AA`), 'base64url');
  t.is(reason(`${b64([1])}.${b64({})}.AA`), 'header');
  t.is(reason(`${Buffer.from('{not json').toString('base64url')}.${b64({})}.AA`), 'header');
  t.is(reason(`${b64({ alg: 'ES256', b64: false, crit: ['b64'] })}.${b64({})}.AA`), 'crit');
});
