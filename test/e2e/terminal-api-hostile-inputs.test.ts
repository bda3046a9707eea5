/**
 * The terminal API of a sandbox household (real gateway, card emulator
 * process, sandbox market, over TLS) against a table of hostile inputs:
 * each answer is a 4xx with a code from API.md, never a 500, and the purse
 * on the card is unchanged afterwards. A body over the limit is refused with
 * the documented 400 `body-too-large`, and the client reads that answer (no
 * reset before it).
 */
import test from 'ava';
import { signRequest } from '../../card-io/access-card/request-signer.js';
import {
  asTerminal,
  errorOf,
  gatewayRequest,
  type RawResponse,
  DEMO_PINS,
  SANDBOX_MARKET,
  recordingPins,
  startPurseHousehold,
} from '../helpers/household/index.js';

const emoji64 = '\u{1F4B8}'.repeat(64);
const market = SANDBOX_MARKET;
const pin2 = DEMO_PINS.pin2;

/** [what, path, body]: every body is signed correctly; only its fields are hostile. */
const hostile: Array<[string, string, Record<string, unknown>]> = [
  ['cancel: seq 2^53 − 1', '/v1/purse/cancel', { seq: Number.MAX_SAFE_INTEGER }],
  ["cancel: seq 2^32 (over the card's 4-byte counter)", '/v1/purse/cancel', { seq: 2 ** 32 }],
  ['cancel: seq −1', '/v1/purse/cancel', { seq: -1 }],
  ['cancel: seq 0', '/v1/purse/cancel', { seq: 0 }],
  ['cancel: seq 1.5', '/v1/purse/cancel', { seq: 1.5 }],
  ['cancel: seq "1"', '/v1/purse/cancel', { seq: '1' }],
  ['cancel: seq 1e308', '/v1/purse/cancel', { seq: 1e308 }],
  ['cancel: seq nested', '/v1/purse/cancel', { seq: { value: 1 } }],
  ['cancel: seq missing', '/v1/purse/cancel', {}],
  ['pay: orderId of 64 emoji', '/v1/purse/pay', { market, orderId: emoji64, pin2 }],
  ['pay: orderId of 10 kB', '/v1/purse/pay', { market, orderId: 'a'.repeat(10_000), pin2 }],
  ['pay: orderId with a slash', '/v1/purse/pay', { market, orderId: '../orders/x', pin2 }],
  ['pay: orderId with a NUL', '/v1/purse/pay', { market, orderId: 'ord\u0000x', pin2 }],
  ['pay: orderId empty', '/v1/purse/pay', { market, orderId: '', pin2 }],
  ['pay: orderId a number', '/v1/purse/pay', { market, orderId: 12345, pin2 }],
  ['pay: orderId an array', '/v1/purse/pay', { market, orderId: ['ord-1'], pin2 }],
  ['pay: orderId missing', '/v1/purse/pay', { market, pin2 }],
  ['pay: market nested', '/v1/purse/pay', { market: { name: market }, orderId: 'ord-1', pin2 }],
  ['pay: market unknown', '/v1/purse/pay', { market: 'nowhere', orderId: 'ord-1', pin2 }],
  ['pay: order unknown at the market', '/v1/purse/pay', { market, orderId: 'ord-does-not-exist', pin2 }],
  ['pay: pin2 a number', '/v1/purse/pay', { market, orderId: 'ord-1', pin2: 5678 }],
  ['pay: pin2 of 10 kB', '/v1/purse/pay', { market, orderId: 'ord-1', pin2: '5'.repeat(10_000) }],
  ['topup: amount "100"', '/v1/purse/topup', { amount: '100' }],
  ['topup: amount "1e3"', '/v1/purse/topup', { amount: '1e3' }],
  ['topup: amount 12.34', '/v1/purse/topup', { amount: 12.34 }],
  ['topup: amount −100', '/v1/purse/topup', { amount: -100 }],
  ['topup: amount 0', '/v1/purse/topup', { amount: 0 }],
  ['topup: amount 2^53', '/v1/purse/topup', { amount: 2 ** 53 }],
  ['topup: amount 2^53 − 1 (over the monthly limit)', '/v1/purse/topup', { amount: Number.MAX_SAFE_INTEGER }],
  ['topup: amount nested', '/v1/purse/topup', { amount: { minor: 100 } }],
  ['topup: amount missing', '/v1/purse/topup', {}],
  ['unlock: pin1 nested', '/v1/card/unlock', { pin1: { pin: '1234' } }],
  ['authorize: market of 10 kB', '/v1/authorize', { market: 'm'.repeat(10_000), pin2 }],
];

test.serial('When a terminal sends hostile field values, every answer is a 4xx with a code, never a 500, and the purse on the card is unchanged', async (t) => {
  const h = await startPurseHousehold(t);
  const access = await h.accessCard(recordingPins());
  await access.unlock();
  const before = await access.balance();
  const profile = await h.profile();
  const terminal = asTerminal(profile);

  for (const [what, path, body] of hostile) {
    const jws = await signRequest({ terminalId: profile.terminalId, privateKey: profile.key, method: 'POST', path, body });
    const r: RawResponse = await gatewayRequest({ ...terminal, method: 'POST', path, body: jws });
    const code = errorOf(r).code;
    t.true(r.status >= 400 && r.status < 500, `${what}: HTTP ${r.status} ${JSON.stringify(r.json)}`);
    t.true(typeof code === 'string' && code !== 'internal', `${what}: code ${String(code)}`);
  }

  t.deepEqual(await access.balance(), before, 'balance, counter and spent-today on the card are unchanged');
});

test.serial('When a request body is over the limit, the gateway answers 400 body-too-large and the client reads it; the card is unchanged', async (t) => {
  const h = await startPurseHousehold(t);
  const access = await h.accessCard(recordingPins());
  await access.unlock();
  const before = await access.balance();
  const terminal = asTerminal(await h.profile());

  for (const size of [64 * 1024 + 1, 10 * 1024 * 1024]) {
    const r = await gatewayRequest({ ...terminal, method: 'POST', path: '/v1/purse/topup', body: 'x'.repeat(size) });
    t.is(r.status, 400, `${size} bytes`);
    t.is(errorOf(r).code, 'body-too-large', `${size} bytes`);
  }
  const streamed = await gatewayRequest({ ...terminal, method: 'POST', path: '/v1/purse/topup', body: 'y'.repeat(2 * 1024 * 1024), chunked: true });
  t.is(errorOf(streamed).code, 'body-too-large', 'a body without Content-Length is cut at the limit too');

  t.deepEqual(await access.balance(), before);
  t.is(
    errorOf(await gatewayRequest({ ...terminal, method: 'POST', path: '/v1/card/lock', body: 'not a jws' })).code,
    'signature-invalid',
    'the gateway still serves requests',
  );
});
