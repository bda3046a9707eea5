/**
 * The gateway's HTTP client for markets and the issuer (gateway/emoney/https-json.ts)
 * against hostile TLS peers on real sockets: an answer trickled a byte at a
 * time hits the total deadline, an oversized answer is dropped as soon as it
 * passes the size limit (nothing like it is held in memory), and answers
 * with malformed order fields are a typed `bad-answer`, never a value that
 * reaches the card.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import { DEFAULT_MAX_ANSWER_BYTES, httpsJson, isPeerError, type PeerError } from '../../gateway/emoney/https-json.js';
import { MarketPayments } from '../../gateway/emoney/market-payments.js';
import type { MarketRecord } from '../../gateway/registry/index.js';
import { derToPem } from '../../provisioning/pki/index.js';
import { newCa, serverIdentity, type ServerIdentity, type TestCa } from '../helpers/proxy-fixtures.js';

let pki: Promise<{ ca: TestCa; server: ServerIdentity }> | undefined;
function marketPki() {
  pki ??= (async () => {
    const ca = await newCa('CN=Hostile Market CA');
    return { ca, server: await serverIdentity(ca, null) };
  })();
  return pki;
}

async function hostileMarket(
  t: ExecutionContext,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ market: MarketRecord; url: string; ca: string }> {
  const { ca, server: id } = await marketPki();
  const tls = { key: id.key.export({ type: 'pkcs8', format: 'pem' }), cert: id.chain.map((d) => derToPem(d)).join(''), minVersion: 'TLSv1.3' } as const;
  const server: Server = createServer(tls, handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const port = (server.address() as AddressInfo).port;
  const anchorPem = derToPem(ca.certificate);
  return {
    market: { name: 'hostile', url: `https://127.0.0.1:${port}/`, host: '127.0.0.1', port, anchorPem, created: new Date().toISOString() },
    url: `https://127.0.0.1:${port}`,
    ca: anchorPem,
  };
}

async function peerErrorOf(p: Promise<unknown>): Promise<PeerError> {
  try {
    await p;
  } catch (e) {
    if (isPeerError(e)) return e;
    throw e;
  }
  throw new Error('expected a PeerError, but the call succeeded');
}

test('When a market trickles its answer one byte every 200 ms, the call fails with a timeout at its total deadline', async (t) => {
  const answer = JSON.stringify({ orderId: 'ord-1', amount: 100, currency: 'EUR', status: 'open' }) + ' '.repeat(200);
  let stopped = false;
  const { url, ca } = await hostileMarket(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    let i = 0;
    const timer = setInterval(() => {
      if (stopped || i >= answer.length || res.destroyed) return clearInterval(timer);
      res.write(answer[i++]);
    }, 200);
    res.on('close', () => clearInterval(timer));
  });
  // An idle timeout of the same length would never fire: a byte comes every 200 ms.
  const e = await peerErrorOf(httpsJson({ url: `${url}/payment-api/orders/ord-1`, method: 'GET', ca, servername: 'localhost', timeoutMs: 1500 }));
  stopped = true;
  t.is(e.kind, 'timeout');
  t.true(e.bytesRead < answer.length, 'the answer was not complete when the call gave up');
});

test('When a market streams a 50 MB answer without Content-Length, the call fails as too-large after at most the limit plus one chunk', async (t) => {
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  let written = 0;
  const { url, ca } = await hostileMarket(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const pump = (): void => {
      while (written < 50 * 1024 * 1024 && !res.destroyed) {
        written += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  const e = await peerErrorOf(httpsJson({ url: `${url}/payment-api/orders/ord-1`, method: 'GET', ca, servername: 'localhost' }));
  t.is(e.kind, 'too-large');
  t.true(e.bytesRead > DEFAULT_MAX_ANSWER_BYTES, 'it read up to the limit');
  t.true(e.bytesRead <= DEFAULT_MAX_ANSWER_BYTES + chunk.length, `it stopped reading within one chunk of the limit (read ${e.bytesRead})`);
  t.true(written < 50 * 1024 * 1024, 'the market could not push the whole body through');
});

test('When a market announces a Content-Length over the limit, the call fails as too-large without reading the body', async (t) => {
  const { url, ca } = await hostileMarket(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': 50 * 1024 * 1024 });
    res.write(Buffer.alloc(16 * 1024, 0x20));
  });
  const e = await peerErrorOf(httpsJson({ url: `${url}/x`, method: 'GET', ca, servername: 'localhost', maxBytes: 4096 }));
  t.is(e.kind, 'too-large');
  t.true(e.bytesRead <= 4096);
});

const malformedOrders: Array<[string, string]> = [
  ['no amount', JSON.stringify({ orderId: 'ord-1', currency: 'EUR', status: 'open' })],
  ['amount null (NaN in JSON)', JSON.stringify({ orderId: 'ord-1', amount: null, currency: 'EUR', status: 'open' })],
  ['amount as a string', JSON.stringify({ orderId: 'ord-1', amount: '100', currency: 'EUR', status: 'open' })],
  ['a negative amount', JSON.stringify({ orderId: 'ord-1', amount: -100, currency: 'EUR', status: 'open' })],
  ['a zero amount', JSON.stringify({ orderId: 'ord-1', amount: 0, currency: 'EUR', status: 'open' })],
  ['a fractional amount', JSON.stringify({ orderId: 'ord-1', amount: 1.5, currency: 'EUR', status: 'open' })],
  ['a huge amount', '{"orderId":"ord-1","amount":1e300,"currency":"EUR","status":"open"}'],
  ['an amount above 2^53', '{"orderId":"ord-1","amount":9007199254740993,"currency":"EUR","status":"open"}'],
  ['a numeric currency', JSON.stringify({ orderId: 'ord-1', amount: 100, currency: 978, status: 'open' })],
  ['a currency that is no ISO 4217 code', JSON.stringify({ orderId: 'ord-1', amount: 100, currency: 'EURO', status: 'open' })],
  ['an unknown status', JSON.stringify({ orderId: 'ord-1', amount: 100, currency: 'EUR', status: 'whatever' })],
  ['another order', JSON.stringify({ orderId: 'ord-2', amount: 100, currency: 'EUR', status: 'open' })],
  ['an array', JSON.stringify([{ orderId: 'ord-1', amount: 100, currency: 'EUR', status: 'open' }])],
  ['not JSON', '<html>ok</html>'],
  ['nested objects', JSON.stringify({ orderId: { id: 'ord-1' }, amount: { value: 100 }, currency: 'EUR', status: 'open' })],
];

test('When a market answers an order with malformed fields, the gateway gets a bad-answer error for each, never an order', async (t) => {
  let current = '';
  const { market } = await hostileMarket(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(current);
  });
  const payments = new MarketPayments(3000);
  for (const [what, body] of malformedOrders) {
    current = body;
    const e = await peerErrorOf(payments.order(market, 'ord-1'));
    t.is(e.kind, 'bad-answer', what);
  }
  current = JSON.stringify({ orderId: 'ord-1', amount: 100, currency: 'EUR', status: 'open' });
  t.deepEqual(await payments.order(market, 'ord-1'), { orderId: 'ord-1', amount: 100, currency: 'EUR', status: 'open' }, 'a well-formed answer still works');
});

test('When a market answers a cancel authorization that is not base64, the gateway gets a bad-answer error', async (t) => {
  const { market } = await hostileMarket(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ authorization: 'not base64!', signature: 12, certificate: null }));
  });
  const e = await peerErrorOf(new MarketPayments(3000).cancelAuthorization(market, 'ord-1', Buffer.from('e300', 'hex'), Buffer.from('30', 'hex')));
  t.is(e.kind, 'bad-answer');
  t.false(e.message.includes('not base64!'), "the peer's values are not echoed");
});
