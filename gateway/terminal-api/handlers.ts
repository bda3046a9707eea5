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
  /** Where terminals read their mail topic (MQTT), if the gateway publishes there. */
  mailbox?: { url: string; topicPrefix: string };
  /** The purse (claims 4-6); absent when the gateway runs without the e-money manager. */
  emoney?: EmoneyApi;
}

export interface EmoneyApi {
  /** The order as the market states it, shown by the terminal before PIN2. */
  quote(market: string, orderId: string): Promise<unknown>;
  /** `agreed`: the amount and currency the terminal showed; the market's order must state the same. */
  pay(t: TerminalIdentity, market: string, orderId: string, pin2: string, agreed: { amount: number; currency: string }): Promise<unknown>;
  cancel(t: TerminalIdentity, seq: number): Promise<unknown>;
  topup(t: TerminalIdentity, amount: number): Promise<unknown>;
  balance(t: TerminalIdentity): Promise<unknown>;
  history(t: TerminalIdentity, limit?: number): Promise<unknown[]>;
}

const PIN = /^[0-9]{4,8}$/;

function field(body: unknown, name: string, pattern?: RegExp): string {
  const v = (body as Record<string, unknown> | undefined)?.[name];
  // The value is never echoed: it may be a PIN.
  if (typeof v !== 'string' || (pattern && !pattern.test(v))) throw new ApiError(400, 'bad-request', `Field "${name}" is missing or malformed`);
  return v;
}

function positiveInt(body: unknown, name: string): number {
  const v = (body as Record<string, unknown> | undefined)?.[name];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new ApiError(400, 'bad-request', `Field "${name}" must be a non-negative integer`);
  return v;
}

function emoneyOf(s: TerminalApiServices): EmoneyApi {
  if (!s.emoney) throw new ApiError(404, 'not-found', 'This gateway has no purse service');
  return s.emoney;
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
        return { terminal: { id: t.id, name: t.name }, cardUnlocked: s.isUnlocked(t.id), ...(s.mailbox ? { mailbox: s.mailbox } : {}) };
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
    'GET /v1/purse': {
      access: 'terminal',
      handle: async ({ terminal }) => emoneyOf(s).balance(terminalOf(terminal)),
    },
    'GET /v1/purse/history': {
      access: 'terminal',
      handle: async ({ terminal }) => ({ entries: await emoneyOf(s).history(terminalOf(terminal)) }),
    },
    'POST /v1/purse/quote': {
      access: 'terminal',
      handle: async ({ terminal, body }) => {
        terminalOf(terminal);
        return emoneyOf(s).quote(field(body, 'market', /^[a-z0-9-]{1,32}$/), field(body, 'orderId', /^.{1,64}$/));
      },
    },
    'POST /v1/purse/pay': {
      access: 'terminal',
      handle: async ({ terminal, body }) => {
        const amount = positiveInt(body, 'amount');
        if (amount === 0) throw new ApiError(400, 'bad-request', 'A payment needs an amount above zero');
        const agreed = { amount, currency: field(body, 'currency', /^[A-Z]{3}$/) };
        return emoneyOf(s).pay(terminalOf(terminal), field(body, 'market', /^[a-z0-9-]{1,32}$/), field(body, 'orderId', /^.{1,64}$/), field(body, 'pin2', PIN), agreed);
      },
    },
    'POST /v1/purse/cancel': {
      access: 'terminal',
      handle: async ({ terminal, body }) => emoneyOf(s).cancel(terminalOf(terminal), positiveInt(body, 'seq')),
    },
    'POST /v1/purse/topup': {
      access: 'terminal',
      handle: async ({ terminal, body }) => {
        const amount = positiveInt(body, 'amount');
        if (amount === 0) throw new ApiError(400, 'bad-request', 'A top-up needs an amount above zero');
        return emoneyOf(s).topup(terminalOf(terminal), amount);
      },
    },
  };
}
