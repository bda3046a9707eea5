/**
 * The admin API answers errors with the terminal API's one mapping, through
 * the real Unix socket, the real HTTP server and the real registry; only the
 * card side (market admin) is a fake that fails as the card and the disk do.
 */
import test from 'ava';
import { join } from 'node:path';
import { CardError, CardErrorCode } from '../../card-io/errors.js';
import { buildAdminRoutes } from '../../gateway/admin-api/admin-routes.js';
import { startAdminServer } from '../../gateway/admin-api/admin-server.js';
import type { MarketAdmin } from '../../gateway/admin-api/market-admin.js';
import { AdminClientError, adminRequest } from '../../gateway/cli/admin-client.js';
import { capturingLogger } from '../helpers/link-probes.js';
import { fingerprint, openRegistry, tempRegistryPath } from './registry-fixtures.js';

const SECRET_PATH = '/data/secret-dir/market-ca.pem';

async function adminGateway(t: { teardown(fn: () => unknown): void }) {
  const registryPath = await tempRegistryPath(t);
  const registry = await openRegistry(registryPath);
  const markets = {
    list: () => [],
    // The disk failed under the market admin: a Node errno error, not a domain error.
    add: async () => {
      throw Object.assign(new Error(`ENOENT: no such file or directory, open '${SECRET_PATH}'`), {
        code: 'ENOENT',
        errno: -2,
        syscall: 'open',
        path: SECRET_PATH,
      });
    },
    // The card refused the admin key's authentication.
    remove: async () => {
      throw new CardError(CardErrorCode.AdminAuthFailed, 'The home card refused the admin key', { sw: 0x6300 });
    },
  } as unknown as MarketAdmin;
  const routes = buildAdminRoutes({
    markets,
    registry,
    enroll: async (name, mail) => {
      const r = await registry.addTerminal({ name, mail, certFingerprint: fingerprint(name) });
      return { id: r.id, name: r.name, profileDir: `/tmp/${name}` };
    },
  });
  const logger = capturingLogger();
  const socket = join(registryPath, '..', 'gateway.sock');
  const server = await startAdminServer(socket, routes, logger);
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return { socket, logger, registry };
}

async function refusal(p: Promise<unknown>): Promise<{ status: unknown; code: string; message: string }> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(e instanceof AdminClientError)) throw new Error(`expected an admin refusal, got ${String(e)}`);
  return { status: e.context.status, code: e.code, message: e.message };
}

test('When the card refuses the admin authentication, the admin API answers 403 admin-auth-failed, not 502 card-absent', async (t) => {
  const g = await adminGateway(t);
  const r = await refusal(adminRequest(g.socket, 'DELETE', '/admin/markets/sandbox'));
  t.like(r, { status: 403, code: 'admin-auth-failed' });
});

test('When a Node errno error (ENOENT) escapes an admin handler, the answer is 500 internal without its message, and the log has it', async (t) => {
  const g = await adminGateway(t);
  const r = await refusal(adminRequest(g.socket, 'POST', '/admin/markets', { name: 'sandbox', url: 'https://localhost:8443/', caPem: 'x' }));
  t.like(r, { status: 500, code: 'internal' });
  t.false(r.message.includes(SECRET_PATH));
  t.false(r.message.includes('ENOENT'));
  t.true(g.logger.records.some((rec) => rec.level === 'error' && String(rec.fields.err).includes('ENOENT')));
});

test('When an admin request names a terminal the registry does not hold, the answer is 404 not-found', async (t) => {
  const g = await adminGateway(t);
  const r = await refusal(adminRequest(g.socket, 'POST', '/admin/terminals/0123456789abcdef/revoke'));
  t.like(r, { status: 404, code: 'not-found' });
  t.regex(r.message, /registry:not-found/);
});

test('When an admin request enrolls a name already taken, the answer is 409 conflict and the registry keeps one terminal', async (t) => {
  const g = await adminGateway(t);
  await adminRequest(g.socket, 'POST', '/admin/terminals', { name: 'alice-phone', mail: 'alice@example.org' });
  const r = await refusal(adminRequest(g.socket, 'POST', '/admin/terminals', { name: 'alice-phone', mail: 'alice@example.org' }));
  t.like(r, { status: 409, code: 'conflict' });
  t.is(g.registry.listTerminals().length, 1);
});

test('When an admin request carries an invalid field, the answer is 400 bad-request; an unknown route is 404 not-found', async (t) => {
  const g = await adminGateway(t);
  t.like(await refusal(adminRequest(g.socket, 'POST', '/admin/terminals', { name: 'bob', mail: 'not a mail' })), { status: 400, code: 'bad-request' });
  t.like(await refusal(adminRequest(g.socket, 'POST', '/admin/terminals/x/role', { role: 'king' })), { status: 400, code: 'bad-request' });
  t.like(await refusal(adminRequest(g.socket, 'GET', '/admin/nothing-here')), { status: 404, code: 'not-found' });
});
