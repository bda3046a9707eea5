/**
 * The benchmark's terminals: enrolled through the gateway's admin socket
 * (POST /admin/terminals, what `homegate terminals enroll` does), loaded from
 * their profiles, and driven with the access card's own client code.
 *
 * An authorization here is exactly `POST /v1/authorize` with PIN2. (The
 * access card's `authorize()` also sends `GET /v1/whoami` first to see
 * whether PIN1 is needed; the benchmark unlocks once and leaves that out.)
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { AccessCard } from '../../card-io/access-card/access-card.js';
import { handedSessionFromJson, type HandedSession } from '../../card-io/access-card/handed-session.js';
import { marketRequest } from '../../card-io/access-card/market-request.js';
import { loadTerminalProfile } from '../../card-io/access-card/terminal-profile.js';
import { adminRequest, adminSocketPath } from '../../gateway/cli/admin-client.js';
import { SANDBOX_MARKET } from '../../deploy/sandbox/household/household.js';
import { DEMO_PINS } from '../../deploy/sandbox/household/sandbox-card.js';

export interface BenchTerminal {
  readonly name: string;
  readonly card: AccessCard;
}

export const terminalName = (i: number): string => `t${i + 1}`;

async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}

/** Enroll t1..tN unless their profiles exist already (a second gateway on the same data). */
export async function ensureTerminals(dataDir: string, count: number): Promise<string[]> {
  const dirs: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = terminalName(i);
    const dir = join(dataDir, 'terminals', name);
    if (!(await exists(join(dir, 'profile.json')))) {
      await adminRequest(adminSocketPath(dataDir), 'POST', '/admin/terminals', { name, mail: `${name}@x.example` });
    }
    dirs.push(dir);
  }
  return dirs;
}

export async function loadTerminals(dirs: string[]): Promise<BenchTerminal[]> {
  return Promise.all(
    dirs.map(async (dir) => {
      const profile = await loadTerminalProfile(dir);
      return { name: profile.name, card: new AccessCard(profile, async (which) => (which === 'PIN1' ? DEMO_PINS.pin1 : DEMO_PINS.pin2)) };
    }),
  );
}

/** PIN1 once per terminal (one at a time: the card serializes them anyway). */
export async function unlockAll(terminals: BenchTerminal[]): Promise<void> {
  for (const t of terminals) await t.card.unlock();
}

/** One proxied authorization: POST /v1/authorize with PIN2 → the handed session. */
export async function authorize(t: BenchTerminal): Promise<HandedSession> {
  return handedSessionFromJson(await t.card.gateway.post('/v1/authorize', { market: SANDBOX_MARKET, pin2: DEMO_PINS.pin2 }));
}

/** The terminal's own leg: resume the handed session at the market and GET /whoami; checks what the market saw. */
export async function resumeAndWhoami(session: HandedSession, t?: BenchTerminal): Promise<void> {
  // With the terminal: its access card's kept context per market anchor, as AccessCard.request does.
  const r = await marketRequest(session, { method: 'GET', path: '/whoami' }, t ? { contexts: t.card.marketContexts } : {});
  const who = JSON.parse(r.body.toString('utf8')) as { resumed?: boolean; clientVerified?: boolean };
  if (r.status !== 200 || who.resumed !== true || who.clientVerified !== true) {
    throw new Error(`delegated /whoami: HTTP ${r.status}, resumed ${String(who.resumed)}, clientVerified ${String(who.clientVerified)}`);
  }
}
