/**
 * The market authorizer with the reference card in memory, the real card
 * sessions and registry, and market chains handed in without a network: who
 * may have the card sign (an open card session, PIN2 each time), which
 * answers card and market failures get, and that the card is always handed
 * back. The successful handshake against a real TLS market: test/e2e.
 */
import test from 'ava';
import { silentLogger } from '../../card-io/base/log.js';
import { MarketAuthorizer } from '../../gateway/authorization/market-authorizer.js';
import { createProxyState, DEFAULT_PROXY_OPTIONS, describeChain } from '../../gateway/proxy/index.js';
import { createServerCertificate, generateP256KeyPair } from '../../provisioning/pki/index.js';
import { foreignCa, PINS } from '../card-io/purse-fixtures.js';
import { moneyHousehold, type MoneyHousehold } from '../helpers/fakes/household.js';
import { answered } from '../helpers/api-refusal.js';

function authorizer(h: MoneyHousehold, state = h.proxyState) {
  return new MarketAuthorizer({
    registry: h.registry,
    cards: h.cards.service,
    sessions: h.sessions,
    proxy: { ...DEFAULT_PROXY_OPTIONS, connectTimeoutMs: 1000 },
    logger: silentLogger,
    clock: () => h.now,
    state,
  });
}

test('When the market is not registered, the authorization is refused as market-unknown without using the card', async (t) => {
  const h = await moneyHousehold(t);
  const kitchen = await h.terminal('kitchen');
  const uses = h.cards.uses;
  t.like(await answered(authorizer(h).authorize(kitchen, 'nowhere', PINS.pin2)), { status: 404, code: 'market-unknown' });
  t.is(h.cards.uses, uses);
});

test(
  'When the terminal has no open card session (never unlocked, locked, or ' +
    'revoked), the authorization is refused as card-locked and PIN2 never reaches the card',
  async (t) => {
    const h = await moneyHousehold(t);
    const kitchen = await h.terminal('kitchen');
    await h.sessions.lock(kitchen.id);
    const stranger = { id: 'ffffffffffffffff', name: 'stranger', mail: 'x@home.example' };
    for (const who of [kitchen, stranger]) {
      t.like(await answered(authorizer(h).authorize(who, 'shop', PINS.pin2)), { status: 423, code: 'card-locked' });
    }
    t.like((await h.fx.card.retryCounters()).pin2, { left: 3 });
    t.false(h.cards.held());
  },
);

test(
  'When PIN2 is wrong the answer is pin-wrong with the tries left; when it is ' +
    'blocked, pin-blocked naming the unblock command; the card is handed back each time',
  async (t) => {
    const h = await moneyHousehold(t);
    const kitchen = await h.terminal('kitchen');
    const a = authorizer(h);
    t.like(await answered(a.authorize(kitchen, 'shop', '000000')), { status: 401, code: 'pin-wrong', fields: { pin: 'PIN2', triesLeft: 2 } });
    t.false(h.cards.held());
    await answered(a.authorize(kitchen, 'shop', '000000'));
    await answered(a.authorize(kitchen, 'shop', '000000'));
    const blocked = await answered(a.authorize(kitchen, 'shop', PINS.pin2));
    t.like(blocked, { status: 423, code: 'pin-blocked', fields: { pin: 'PIN2', unblockCommand: 'homegate card unblock 2' } });
    t.false(h.cards.held());
  },
);

test('When the home card is not available, the authorization is refused as card-absent', async (t) => {
  const h = await moneyHousehold(t);
  const kitchen = await h.terminal('kitchen');
  h.cards.absent = true;
  t.like(await answered(authorizer(h).authorize(kitchen, 'shop', PINS.pin2)), { status: 503, code: 'card-absent' });
});

test('When the market shows a chain the card does not trust, the card refuses to sign: market-untrusted, and the card is handed back', async (t) => {
  const h = await moneyHousehold(t);
  const kitchen = await h.terminal('kitchen');
  const ca = await foreignCa();
  const { publicKey } = generateP256KeyPair();
  const leaf = await createServerCertificate({ subject: 'CN=shop.example', subjectPublicKey: publicKey, issuer: ca, dnsNames: ['shop.example'] });
  const state = createProxyState(async () => describeChain([leaf, Buffer.from(ca.certificate)]));
  const e = await answered(authorizer(h, state).authorize(kitchen, 'shop', PINS.pin2));
  t.like(e, { status: 502, code: 'market-untrusted' });
  t.false(h.cards.held());
});

test(
  'When the card has signed but the market cannot be reached, the answer ' + 'is market-unreachable and the card was handed back before the connection',
  async (t) => {
    const h = await moneyHousehold(t);
    const kitchen = await h.terminal('kitchen');
    // Port 1 on the loopback: nothing listens, the connection is refused at once. Its leaf names localhost.
    await h.registry.addMarket({ name: 'closed', url: 'https://127.0.0.1:1', anchorPem: h.shop.anchorPem });
    const { publicKey } = generateP256KeyPair();
    const leaf = await createServerCertificate({
      subject: 'CN=localhost',
      subjectPublicKey: publicKey,
      issuer: h.fx.market.intermediate,
      dnsNames: ['localhost'],
    });
    const state = createProxyState(async () => describeChain([leaf, Buffer.from(h.fx.market.intermediate.certificate)]));
    let heldWhileConnecting: boolean | undefined;
    const sign = h.fx.card.signSessionCertificate.bind(h.fx.card);
    h.fx.card.signSessionCertificate = async (tbs) => {
      const signature = await sign(tbs);
      setImmediate(() => (heldWhileConnecting = h.cards.held()));
      return signature;
    };
    const e = await answered(authorizer(h, state).authorize(kitchen, 'closed', PINS.pin2));
    t.like(e, { status: 502, code: 'market-unreachable' });
    t.not(heldWhileConnecting, undefined, 'the card signed');
    t.false(heldWhileConnecting, 'handed back as soon as it signed');
    t.false(h.cards.held());
  },
);

test(
  "When the card refuses to sign because the market's certificate does not " + 'name its registered host, the answer is card-refused, not an internal error',
  async (t) => {
    const h = await moneyHousehold(t);
    const kitchen = await h.terminal('kitchen');
    // Registered as localhost, while its (trusted) leaf only names shop.example: the card answers 6A80 to the signing.
    await h.registry.addMarket({ name: 'misnamed', url: 'https://127.0.0.1:1', anchorPem: h.shop.anchorPem });
    const e = await answered(authorizer(h).authorize(kitchen, 'misnamed', PINS.pin2));
    t.like(e, { status: 409, code: 'card-refused' });
    t.false(h.cards.held());
  },
);
