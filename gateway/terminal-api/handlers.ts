/**
 * The v1 terminal API (API.md) as a plain route table over the gateway's
 * services. Handlers validate their input and call one service each.
 */
import { ApiError } from './api-error.js';
import type { RouteTable, TerminalIdentity } from './routes.js';

export interface AuthorizeAnswer {
  market: string;
  host: string;
  port: number;
  servername: string;
  alpn: string | null;
  /** base64 DER SSL_SESSION: the common key. Only ever sent in this answer. */
  session: string;
  ticketLifetimeSeconds: number | null;
  clientSubject: string;
  certificateExpiresAt: string;
  /** The market's registered trust anchor (PEM), so the terminal can check the resumed session's server. */
  marketCa: string;
}

export interface TerminalApiServices {
  version: string;
  cardStatus(): 'present' | 'absent';
  isUnlocked(terminalId: string): boolean;
  unlock(terminalId: string, pin1: string): Promise<{ idleTimeoutSeconds: number }>;
  lock(terminalId: string): Promise<void>;
  listMarkets(): Promise<Array<{ name: string; url: string }>>;
  authorize(terminal: TerminalIdentity, market: string, pin2: string): Promise<AuthorizeAnswer>;
}

const PIN = /^[0-9]{4,8}$/;

function field(body: unknown, name: string, pattern?: RegExp): string {
  const v = (body as Record<string, unknown> | undefined)?.[name];
  // The value is never echoed: it may be a PIN.
  if (typeof v !== 'string' || (pattern && !pattern.test(v))) throw new ApiError(400, 'bad-request', `Field "${name}" is missing or malformed`);
  return v;
}

function terminalOf(t: TerminalIdentity | undefined): TerminalIdentity {
  if (!t) throw new ApiError(401, 'client-certificate-required', 'A terminal certificate is required');
  return t;
}

export function terminalApiRoutes(s: TerminalApiServices): RouteTable {
  return {
    'GET /v1/health': {
      access: 'public',
      handle: async () => ({ ok: true, version: s.version, card: s.cardStatus() }),
    },
    'GET /v1/whoami': {
      access: 'terminal',
      handle: async ({ terminal }) => {
        const t = terminalOf(terminal);
        return { terminal: { id: t.id, name: t.name }, cardUnlocked: s.isUnlocked(t.id) };
      },
    },
    'GET /v1/markets': {
      access: 'terminal',
      handle: async () => ({ markets: await s.listMarkets() }),
    },
    'POST /v1/card/unlock': {
      access: 'terminal',
      handle: async ({ terminal, body }) => ({ unlocked: true, ...(await s.unlock(terminalOf(terminal).id, field(body, 'pin1', PIN))) }),
    },
    'POST /v1/card/lock': {
      access: 'terminal',
      handle: async ({ terminal }) => {
        await s.lock(terminalOf(terminal).id);
        return { unlocked: false };
      },
    },
    'POST /v1/authorize': {
      access: 'terminal',
      handle: async ({ terminal, body }) => s.authorize(terminalOf(terminal), field(body, 'market', /^[a-z0-9-]{1,32}$/), field(body, 'pin2', PIN)),
    },
  };
}
