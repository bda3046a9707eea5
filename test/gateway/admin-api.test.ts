/**
 * The admin socket's routes (terminals, markets, card PINs) through the real
 * admin server on a Unix socket in a temporary directory, over the real
 * registry, card sessions and the reference card in memory, with terminal
 * enrollment replaced by a recorder: what each request answers (status and
 * code, as the CLI sees them) and that a refused request changes nothing.
 */
import test, { type ExecutionContext } from 'ava';
import { request } from 'node:http';
import { join } from 'node:path';
import { silentLogger } from '../../card-io/base/log.js';
import { buildAdminRoutes } from '../../gateway/admin-api/admin-routes.js';
import { startAdminServer } from '../../gateway/admin-api/admin-server.js';
import { MarketAdmin } from '../../gateway/admin-api/market-admin.js';
import { PinAdmin } from '../../gateway/admin-api/pin-admin.js';
import { moneyHousehold, PINS, type MoneyHousehold } from '../helpers/fakes/household.js';
import { answered } from '../helpers/api-refusal.js';

interface Answer {
  status: number;
  body: Record<string, unknown> & { error?: { code: string } };
}

interface Admin {
  h: MoneyHousehold;
  enrolled: Array<[string, string]>;
  revoked: string[];
  call(method: string, path: string, body?: unknown): Promise<Answer>;
}

async function admin(t: ExecutionContext, o: { pins?: boolean } = {}): Promise<Admin> {
  const h = await moneyHousehold(t);
  const enrolled: Array<[string, string]> = [];
  const revoked: string[] = [];
  const markets = new MarketAdmin({ registry: h.registry, cards: h.cards.service, adminKeyFile: undefined, logger: silentLogger });
  const routes = buildAdminRoutes({
    markets,
    registry: h.registry,
    enroll: async (name, mail) => {
      enrolled.push([name, mail]);
      return { id: '0123456789abcdef', name, profileDir: join(h.dir, 'terminals', name) };
    },
    // As the gateway does: a revoked terminal's card session and cached PIN1 end at once.
    revoked: async (id) => {
      revoked.push(id);
      await h.sessions.lock(id);
    },
    ...(o.pins === false ? {} : { pins: new PinAdmin(h.sessions, silentLogger) }),
  });
  const socketPath = join(h.dir, 'admin.sock');
  const server = await startAdminServer(socketPath, routes, silentLogger);
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const call = (method: string, path: string, body?: unknown) =>
    new Promise<Answer>((resolve, reject) => {
      const req = request({ socketPath, method, path, headers: { 'content-type': 'application/json' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Answer['body'] }));
      });
      req.on('error', reject);
      req.end(body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body));
    });
  return { h, enrolled, revoked, call };
}

test('When an enroll request lacks a name or mail, or they are not strings, it is refused as bad-request and nothing is enrolled', async (t) => {
  const a = await admin(t);
  for (const body of [
    {},
    { name: 'kitchen' },
    { mail: 'k@home.example' },
    { name: 7, mail: 'k@home.example' },
    { name: 'kitchen', mail: ['k@home.example'] },
    { name: '', mail: 'k@home.example' },
  ]) {
    t.like(await a.call('POST', '/admin/terminals', body), { status: 400, body: { error: { code: 'bad-request' } } }, JSON.stringify(body));
  }
  t.deepEqual(a.enrolled, []);
  t.like(await a.call('POST', '/admin/terminals', { name: 'kitchen', mail: 'k@home.example' }), { status: 200, body: { terminal: { name: 'kitchen' } } });
  t.deepEqual(a.enrolled, [['kitchen', 'k@home.example']]);
});

test('When a role is set, only "owner" and "member" are taken; the terminal list shows the role', async (t) => {
  const a = await admin(t);
  const kitchen = await a.h.terminal('kitchen');
  for (const role of ['admin', 'OWNER', '', 1, undefined]) {
    t.like(await a.call('POST', `/admin/terminals/${kitchen.id}/role`, { role }), { status: 400, body: { error: { code: 'bad-request' } } }, String(role));
  }
  t.is(a.h.registry.getTerminal(kitchen.id)?.role ?? 'member', 'member');
  t.like(await a.call('POST', `/admin/terminals/${kitchen.id}/role`, { role: 'owner' }), {
    status: 200,
    body: { terminal: { id: kitchen.id, role: 'owner' } },
  });
  const list = await a.call('GET', '/admin/terminals');
  t.like((list.body.terminals as unknown[])[0], { id: kitchen.id, role: 'owner', status: 'active' });
});

test('When a role is set or a revoke asked for a terminal that does not exist, it is refused with a 4xx and the registry is unchanged', async (t) => {
  const a = await admin(t);
  await a.h.terminal('kitchen');
  const before = JSON.stringify(a.h.registry.listTerminals());
  const role = await a.call('POST', '/admin/terminals/ffffffffffffffff/role', { role: 'owner' });
  const revoke = await a.call('POST', '/admin/terminals/ffffffffffffffff/revoke');
  for (const r of [role, revoke]) t.true(r.status >= 400 && r.status < 500, `status ${r.status}`);
  t.deepEqual(a.revoked, []);
  t.is(JSON.stringify(a.h.registry.listTerminals()), before);
});

test('When a terminal is revoked, the registry says so and its open card session ends: its next use of the card is refused as card-locked', async (t) => {
  const a = await admin(t);
  const kitchen = await a.h.terminal('kitchen');
  t.true(a.h.sessions.isOpen(kitchen.id));
  t.like(await a.call('POST', `/admin/terminals/${kitchen.id}/revoke`), { status: 200, body: { terminal: { id: kitchen.id, status: 'revoked' } } });
  t.deepEqual(a.revoked, [kitchen.id]);
  t.false(a.h.sessions.isOpen(kitchen.id));
  t.like(await answered(a.h.sessions.lease(kitchen.id)), { status: 423, code: 'card-locked' });
});

test(
  'When a PIN unblock or change has a malformed PIN, PUK or PIN number, or a new PIN breaking the household rules, ' +
    'it is refused as bad-request before the card is asked, so no try is spent',
  async (t) => {
    const a = await admin(t);
    const uses = a.h.cards.uses;
    const bad: Array<[string, unknown]> = [
      ['/admin/card/pins/1/unblock', { puk: '12', newPin: '4321' }],
      ['/admin/card/pins/1/unblock', { puk: PINS.puk, newPin: '12ab' }],
      ['/admin/card/pins/1/unblock', { puk: PINS.puk }],
      ['/admin/card/pins/3/unblock', { puk: PINS.puk, newPin: '4321' }],
      ['/admin/card/pins/PIN1/change', { currentPin: PINS.pin1, newPin: '4321' }],
      ['/admin/card/pins/1/change', { currentPin: PINS.pin1, newPin: '1' }],
      ['/admin/card/pins/1/change', { currentPin: 1234, newPin: '4321' }],
      ['/admin/card/pins/2/change', { currentPin: PINS.pin2, newPin: '111111' }],
      ['/admin/card/pins/2/change', { currentPin: PINS.pin2, newPin: '111111', pin1: 'x' }],
      // The household's rules, as at personalization: not one digit repeated, PIN2 not PIN1.
      ['/admin/card/pins/1/unblock', { puk: PINS.puk, newPin: '0000' }],
      ['/admin/card/pins/1/change', { currentPin: PINS.pin1, newPin: '7777' }],
      ['/admin/card/pins/2/change', { currentPin: PINS.pin2, newPin: '111111', pin1: PINS.pin1 }],
      ['/admin/card/pins/2/change', { currentPin: PINS.pin2, newPin: PINS.pin1, pin1: PINS.pin1 }],
    ];
    for (const [path, body] of bad)
      t.like(await a.call('POST', path, body), { status: 400, body: { error: { code: 'bad-request' } } }, `${path} ${JSON.stringify(body)}`);
    t.is(a.h.cards.uses, uses, 'the card was not used');
    const counters = await a.h.fx.card.retryCounters();
    t.deepEqual([counters.pin1.left, counters.pin2.left, counters.puk.left], [counters.pin1.max, counters.pin2.max, counters.puk.max]);
  },
);

test("When PIN1 is unblocked with the right PUK, every terminal's card session ends and the new PIN1 opens the card", async (t) => {
  const a = await admin(t);
  const kitchen = await a.h.terminal('kitchen');
  t.like(await a.call('POST', '/admin/card/pins/1/unblock', { puk: PINS.puk, newPin: '4321' }), { status: 200, body: { pin: 'PIN1', unblocked: true } });
  t.false(a.h.sessions.isOpen(kitchen.id));
  await a.h.sessions.unlock(kitchen.id, '4321');
  t.true(a.h.sessions.isOpen(kitchen.id));
});

test('When the PUK or the current PIN is wrong, the answer is pin-wrong with the tries left, and the PIN is not changed', async (t) => {
  const a = await admin(t);
  const wrongPuk = await a.call('POST', '/admin/card/pins/2/unblock', { puk: '87654321', newPin: '246810' });
  t.like(wrongPuk, { status: 401, body: { error: { code: 'pin-wrong' } } });
  const wrongPin1 = await a.call('POST', '/admin/card/pins/2/change', { currentPin: PINS.pin2, newPin: '246810', pin1: '9999' });
  t.like(wrongPin1, { status: 401, body: { error: { code: 'pin-wrong', pin: 'PIN1', triesLeft: 2 } } });
  const kitchen = await a.h.terminal('kitchen');
  t.like(await a.call('POST', '/admin/card/pins/1/change', { currentPin: '9999', newPin: '4321' }), { status: 401, body: { error: { code: 'pin-wrong' } } });
  t.false(a.h.sessions.isOpen(kitchen.id), 'a wrong PIN1 try drops the cached PIN1s');
  await a.h.sessions.unlock(kitchen.id, PINS.pin1);
  t.like(await a.call('POST', '/admin/card/pins/2/change', { currentPin: PINS.pin2, newPin: '246810', pin1: PINS.pin1 }), {
    status: 200,
    body: { pin: 'PIN2', changed: true },
  });
});

test("When the gateway does not manage the card's PINs, the PIN routes answer not-found; unknown endpoints and non-JSON bodies are refused", async (t) => {
  const a = await admin(t, { pins: false });
  t.like(await a.call('POST', '/admin/card/pins/1/unblock', { puk: PINS.puk, newPin: '4321' }), { status: 404, body: { error: { code: 'not-found' } } });
  t.like(await a.call('GET', '/admin/nothing'), { status: 404, body: { error: { code: 'not-found' } } });
  t.like(await a.call('POST', '/admin/terminals', '{not json'), { status: 400, body: { error: { code: 'bad-request' } } });
});

test('When a market is added with a CA that is not a CA certificate or not PEM, it is refused as bad-request and not registered', async (t) => {
  const a = await admin(t);
  const leafPem = `-----BEGIN CERTIFICATE-----\n${a.h.fx.market.leaf.toString('base64')}\n-----END CERTIFICATE-----\n`;
  for (const caPem of ['not a pem', leafPem]) {
    t.like(await a.call('POST', '/admin/markets', { name: 'other', url: 'https://other.example', caPem }), {
      status: 400,
      body: { error: { code: 'bad-request' } },
    });
  }
  t.like(await a.call('POST', '/admin/markets', { name: 'other', url: 'https://other.example' }), { status: 400, body: { error: { code: 'bad-request' } } });
  t.is(a.h.registry.getMarket('other'), undefined);
});

test('When a market cannot be put on the card (no admin key), its registry entry is undone', async (t) => {
  const a = await admin(t);
  const answer = await a.call('POST', '/admin/markets', { name: 'other', url: 'https://other.example', caPem: a.h.shop.anchorPem });
  t.true(answer.status >= 400 && answer.status < 500);
  t.is(a.h.registry.getMarket('other'), undefined);
  const listed = (await a.call('GET', '/admin/markets')).body.markets as Array<{ name: string }>;
  t.deepEqual(
    listed.map((m) => m.name),
    ['shop'],
  );
});
