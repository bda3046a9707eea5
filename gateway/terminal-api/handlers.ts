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
  /** The card socket (present, activated, ATR, T=1 parameters), when the card sits in one. */
  socketStatus?(): Record<string, unknown> | undefined;
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

/**
 * Order ids as the gateway passes them to a market URL and the card (DF52 holds
 * 1..64 bytes of UTF-8, PROTOCOL.md): printable ASCII from a small set, so one
 * character is one byte and nothing needs escaping in a path or a log line.
 */
const ORDER_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const MARKET = /^[a-z0-9-]{1,32}$/;
/** A decision's seq is the card's 4-byte transaction counter (PROTOCOL.md, DF50), from 1. */
const MAX_SEQ = 0xffff_ffff;

/** An integer in [min, max]; a JSON number only (not "1", not 1.5, not 2^53 − 1 where the card holds 32 bits). */
function integerIn(body: unknown, name: string, min: number, max: number): number {
  const v = (body as Record<string, unknown> | undefined)?.[name];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max)
    throw new ApiError(400, 'bad-request', `Field "${name}" must be an integer from ${min} to ${max}`);
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
      handle: async () => {
        const socket = s.socketStatus?.();
        return { ok: true, version: s.version, card: s.cardStatus(), ...(socket ? { socket } : {}) };
      },
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
      handle: async ({ terminal, body }) => s.authorize(terminalOf(terminal), field(body, 'market', MARKET), field(body, 'pin2', PIN)),
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
        return emoneyOf(s).quote(field(body, 'market', MARKET), field(body, 'orderId', ORDER_ID));
      },
    },
    'POST /v1/purse/pay': {
      access: 'terminal',
      handle: async ({ terminal, body }) => {
        const agreed = { amount: integerIn(body, 'amount', 1, Number.MAX_SAFE_INTEGER), currency: field(body, 'currency', /^[A-Z]{3}$/) };
        return emoneyOf(s).pay(terminalOf(terminal), field(body, 'market', MARKET), field(body, 'orderId', ORDER_ID), field(body, 'pin2', PIN), agreed);
      },
    },
    'POST /v1/purse/cancel': {
      access: 'terminal',
      handle: async ({ terminal, body }) => emoneyOf(s).cancel(terminalOf(terminal), integerIn(body, 'seq', 1, MAX_SEQ)),
    },
    'POST /v1/purse/topup': {
      access: 'terminal',
      handle: async ({ terminal, body }) => {
        // Minor units, above zero; the card's field is u64, the gateway's numbers are exact up to 2^53 − 1.
        const amount = integerIn(body, 'amount', 1, Number.MAX_SAFE_INTEGER);
        return emoneyOf(s).topup(terminalOf(terminal), amount);
      },
    },
  };
}
