/**
 * Payments against a hostile market (claim 4; PAYMENTS.md, the gateway's
 * bounds): a server with the sandbox market's own TLS identity answers for
 * it, and trickles its order answer a byte every 200 ms, streams a 50 MB
 * order answer, or answers an order with malformed fields. The payment
 * through the real gateway ends with the typed code from API.md and nothing
 * is debited on the card. A presentation answer trickled the same way does
 * not hold the payment: it is decided, and left for the presenter.
 */
import { createServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { loadOrCreateMarketPki } from '../../deploy/sandbox/market-pki.js';
import { orderView } from '../../deploy/sandbox/market/order-book.js';
import { derToPem } from '../../provisioning/pki/index.js';
import { refusalOf, SANDBOX_MARKET, recordingPins, startPurseHousehold, type PurseHousehold } from '../helpers/household/index.js';

type Handler = (req: IncomingMessage, res: ServerResponse, h: PurseHousehold) => void;

/** A server with the market's TLS certificate and key, registered as market "sandbox" in the running gateway. */
async function hostileMarket(t: ExecutionContext, h: PurseHousehold, handler: Handler): Promise<void> {
  const pki = await loadOrCreateMarketPki(join(h.dataDir, 'sandbox', 'market'));
  const tls = { cert: derToPem(pki.serverCertificate), key: pki.serverKey.export({ type: 'pkcs8', format: 'pem' }), minVersion: 'TLSv1.3' } as const;
  const server = createServer(tls, (req, res) => handler(req, res, h));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const registry = h.inProcess!.registry;
  await registry.removeMarket(SANDBOX_MARKET);
  await registry.addMarket({ name: SANDBOX_MARKET, url: `https://localhost:${(server.address() as AddressInfo).port}`, anchorPem: h.marketCaPem });
}

function trickle(res: ServerResponse, text: string): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  let i = 0;
  const timer = setInterval(() => {
    if (i >= text.length || res.destroyed) return clearInterval(timer);
    res.write(text[i++]);
  }, 200);
  res.on('close', () => clearInterval(timer));
}

function flood(res: ServerResponse): void {
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  let sent = 0;
  res.writeHead(200, { 'content-type': 'application/json' });
  const pump = (): void => {
    while (sent < 50 * 1024 * 1024 && !res.destroyed) {
      sent += chunk.length;
      if (!res.write(chunk)) return void res.once('drain', pump);
    }
    res.end();
  };
  pump();
}

function orderOf(h: PurseHousehold, url: string | undefined) {
  const m = /^\/payment-api\/orders\/([^/]+)$/.exec(url ?? '');
  const order = m ? h.sandbox.market.orders.get(decodeURIComponent(m[1]!)) : undefined;
  return order ? orderView(order) : undefined;
}

const cases: Array<[string, Handler, number, string]> = [
  [
    'an order answer trickled one byte every 200 ms',
    (req, res, h) => trickle(res, JSON.stringify(orderOf(h, req.url)) + ' '.repeat(100)),
    504,
    'market-timeout',
  ],
  ['a 50 MB order answer', (_req, res) => flood(res), 502, 'market-answer-too-large'],
  ['an order answer with a negative amount', (req, res, h) => res.end(JSON.stringify({ ...orderOf(h, req.url), amount: -500 })), 502, 'market-bad-answer'],
  [
    'an order answer with the amount as a string',
    (req, res, h) => res.end(JSON.stringify({ ...orderOf(h, req.url), amount: '500' })),
    502,
    'market-bad-answer',
  ],
  ['an order answer without an amount', (req, res, h) => res.end(JSON.stringify({ ...orderOf(h, req.url), amount: undefined })), 502, 'market-bad-answer'],
  ['an order answer with a numeric currency', (req, res, h) => res.end(JSON.stringify({ ...orderOf(h, req.url), currency: 978 })), 502, 'market-bad-answer'],
];

test.serial('When a market trickles, floods or garbles its order answer, the payment fails with a typed code and nothing is debited', async (t) => {
  const h = await startPurseHousehold(t);
  const access = await h.accessCard(recordingPins());
  const order = await h.createOrder(access, 'coffee-250g');
  const before = await access.balance();
  let current: Handler = () => undefined;
  await hostileMarket(t, h, (req, res, hh) => current(req, res, hh));
  for (const [what, handler, status, code] of cases) {
    current = handler;
    const refusal = await refusalOf(access.pay(SANDBOX_MARKET, order.orderId));
    t.is(refusal.code, code, what);
    t.is(refusal.status, status, what);
  }
  t.deepEqual(await access.balance(), before, 'balance and counter on the card are unchanged');
  t.is(h.sandbox.market.orders.get(order.orderId)?.status, 'open');
});

test.serial('When a market trickles its answer to a presentation, the payment is still decided within the deadline and left for the presenter', async (t) => {
  const h = await startPurseHousehold(t);
  const access = await h.accessCard(recordingPins());
  const order = await h.createOrder(access, 'coffee-250g');
  const before = await access.balance();
  await hostileMarket(t, h, (req, res, hh) => {
    if (req.method === 'GET') return res.end(JSON.stringify(orderOf(hh, req.url)));
    req.resume();
    trickle(res, JSON.stringify({ orderId: order.orderId, status: 'paid' }) + ' '.repeat(200));
  });
  const paid = (await access.pay(SANDBOX_MARKET, order.orderId)) as { presented: boolean; record: { amount: number } };
  t.false(paid.presented, 'the presentation gave up at its deadline');
  t.is((await access.balance()).balance, (before.balance as number) - paid.record.amount);
});
