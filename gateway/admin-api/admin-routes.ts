/**
 * The admin socket's routes: markets (registry + card anchors), terminals
 * (enroll, list, role, revoke, pairing codes), the card's PINs (unblock with
 * the PUK, change) and the backup snapshot. Enrollment writes the terminal's profile under
 * <data>/terminals/<name>, from where it is carried to the terminal.
 *
 * Errors are answered like the terminal API's (`{ error: { code, message, ... } }`),
 * mapped once by terminal-api/http-errors.ts:
 *   400 bad-request        a missing or invalid field (registry or enrollment `invalid`, a card argument)
 *   403 admin-auth-failed  the card refused the admin key's authentication
 *   404 not-found          no such route, terminal or PIN service; 404 market-unknown for a market
 *   409 conflict           a name or certificate already taken, a profile that exists, no admin key configured
 *   401/423/429            pin-wrong, pin-blocked / card-locked, pin-throttled (as in API.md)
 *   503 card-absent        the card does not answer
 *   500 internal           anything else (a bug, a disk error): the message is in the gateway log only
 */
import type { Registry } from '../registry/index.js';
import { ApiError } from '../terminal-api/api-error.js';
import type { AdminRoutes } from './admin-server.js';
import type { MarketAdmin } from './market-admin.js';
import { pinFromParam, type PinAdmin } from './pin-admin.js';

export interface AdminRouteDeps {
  markets: MarketAdmin;
  registry: Registry;
  /** Enroll a terminal: certificate from the household CA, registry entry, profile under <data>/terminals. */
  enroll(name: string, mail: string): Promise<{ id: string; name: string; profileDir: string }>;
  /** A single-use pairing code for a terminal to be named `name` (pairing-service.ts); without it /admin/pairing answers 404. */
  pairingCode?(name: string, mail: string, gatewayUrl?: string): Promise<{ code: string; expiresAt: number; fingerprint: string }>;
  /** A snapshot of the data directory for `homegate backup` (backup/data-snapshot.ts); without it /admin/backup/snapshot answers 404. */
  snapshot?(): Promise<unknown>;
  /** Called once a terminal is revoked, to end what it still has open (its card session, its PIN1 in memory). */
  revoked?(terminalId: string): Promise<void>;
  /** The card's PINs; without it the /admin/card/pins routes answer 404. */
  pins?: PinAdmin;
}

function str(body: Record<string, unknown>, name: string): string {
  const v = body[name];
  if (typeof v !== 'string' || !v) throw new ApiError(400, 'bad-request', `Field "${name}" is required`);
  return v;
}

function pinAdmin(d: AdminRouteDeps): PinAdmin {
  if (!d.pins) throw new ApiError(404, 'not-found', "This gateway does not manage the card's PINs");
  return d.pins;
}

export function buildAdminRoutes(d: AdminRouteDeps): AdminRoutes {
  return {
    'GET /admin/markets': async () => ({ markets: d.markets.list() }),
    'POST /admin/markets': async (b) => {
      const m = await d.markets.add(str(b, 'name'), str(b, 'url'), str(b, 'caPem'));
      return { market: { name: m.name, url: m.url } };
    },
    'DELETE /admin/markets/:name': async (_b, [name]) => {
      await d.markets.remove(name!);
      return { removed: name };
    },
    'GET /admin/terminals': async () => ({
      terminals: d.registry
        .listTerminals()
        .map((t) => ({ id: t.id, name: t.name, mail: t.mail, status: t.status, role: t.role ?? 'member', created: t.created, lastSeen: t.lastSeen })),
    }),
    'POST /admin/terminals': async (b) => ({ terminal: await d.enroll(str(b, 'name'), str(b, 'mail')) }),
    'POST /admin/backup/snapshot': async () => {
      if (!d.snapshot) throw new ApiError(404, 'not-found', 'This gateway does not take backups');
      return { snapshot: await d.snapshot() };
    },
    'POST /admin/pairing': async (b) => {
      if (!d.pairingCode) throw new ApiError(404, 'not-found', 'This gateway does not pair terminals');
      const url = b.gatewayUrl;
      if (url !== undefined && (typeof url !== 'string' || !URL.canParse(url) || new URL(url).protocol !== 'https:')) {
        throw new ApiError(400, 'bad-request', 'Field "gatewayUrl" must be an https URL');
      }
      return { pairing: await d.pairingCode(str(b, 'name'), str(b, 'mail'), url as string | undefined) };
    },
    // 'owner' may cancel other terminals' payment decisions (API.md, "Whose decision").
    'POST /admin/terminals/:id/role': async (b, [id]) => {
      const role = str(b, 'role');
      if (role !== 'owner' && role !== 'member') throw new ApiError(400, 'bad-request', 'Field "role" must be "owner" or "member"');
      const t = await d.registry.setTerminalRole(id!, role);
      return { terminal: { id: t.id, name: t.name, role: t.role ?? 'member' } };
    },
    'POST /admin/terminals/:id/revoke': async (_b, [id]) => {
      const t = await d.registry.revokeTerminal(id!);
      await d.revoked?.(t.id);
      return { terminal: { id: t.id, name: t.name, status: t.status } };
    },
    'POST /admin/card/pins/:which/unblock': async (b, [which]) => {
      const pin = pinFromParam(which);
      await pinAdmin(d).unblock(pin, str(b, 'puk'), str(b, 'newPin'));
      return { pin, unblocked: true };
    },
    'POST /admin/card/pins/:which/change': async (b, [which]) => {
      const pin = pinFromParam(which);
      await pinAdmin(d).change(pin, str(b, 'currentPin'), str(b, 'newPin'), pin === 'PIN2' ? str(b, 'pin1') : undefined);
      return { pin, changed: true };
    },
  };
}
