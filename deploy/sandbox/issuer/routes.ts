/**
 * The sandbox issuer's routes (gateway/emoney/PAYMENTS.md, "Issuer"), JSON:
 *
 * - `POST /v1/loads` `{ cardId, amount, currency, challenge }` → a
 *   reservation (`id`, `status: reserved`, `expiresAt`) and the load
 *   authorization (PROTOCOL.md, LOAD: `DF57 card id ‖ DF53 amount ‖ DF54
 *   currency ‖ DF71 challenge`) signed with the load key (DER ECDSA P-256
 *   over SHA-256); the amount is held, not debited;
 * - `POST /v1/loads/<id>/commit` `{ receipt, cardCertificate }` → debits on
 *   the card's signed load receipt for that reservation (idempotent);
 * - `POST /v1/loads/<id>/void` → releases the hold (refused once committed);
 * - `GET /v1/loads/<id>` → the reservation and its status;
 * - `GET /v1/account` → the household's account, cards, loads and reservations.
 *
 * The household is the CN of the client certificate the TLS layer verified
 * (the server requires one; a resumed session keeps it).
 */
import type { KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { encodeLoadAuthorization, signAuthorization } from '../../../card-io/home-card/purse-authorizations.js';
import { answer, base64Field, cardIdField, integerField, matchRoute, readJsonObject, stringField, type JsonRoute } from '../http-json.js';
import type { AccountBook } from './accounts.js';
import { checkReceipt, type CardKeys } from './load-commit.js';
import type { IssuerLogger } from './options.js';

/** The card's load challenge is 16 bytes (PROTOCOL.md, GET LOAD CHALLENGE). */
const CHALLENGE_LENGTH = 16;

export interface IssuerContext {
  accounts: AccountBook;
  cardKeys: CardKeys;
  /** How long a reservation holds funds before it is released on its own. */
  reservationTtlMs: number;
  loadKey: KeyObject;
  logger: IssuerLogger | undefined;
  clock: () => Date;
}

/** The CN of the verified client certificate, if it has exactly one. */
export function householdOf(socket: TLSSocket): string | undefined {
  const cn = (socket.getPeerCertificate() as PeerCertificate | null)?.subject?.CN as string | string[] | undefined;
  return socket.authorized && typeof cn === 'string' ? cn : undefined;
}

async function load(ctx: IssuerContext, req: IncomingMessage): Promise<unknown> {
  const account = ctx.accounts.require(householdOf(req.socket as TLSSocket));
  const body = await readJsonObject(req);
  const cardId = cardIdField(body);
  const amount = integerField(body, 'amount', 1);
  const currency = stringField(body, 'currency', 3);
  const challenge = base64Field(body, 'challenge', CHALLENGE_LENGTH);
  const now = ctx.clock();
  ctx.accounts.check(account, cardId, amount, currency, now);
  const authorization = encodeLoadAuthorization({ cardId, amount, currency, challenge });
  const signature = signAuthorization(authorization, ctx.loadKey);
  const r = ctx.accounts.reserve(account, { cardId, amount, challenge }, now, ctx.reservationTtlMs);
  ctx.logger?.info({ household: account.household, cardId, amount, id: r.id, expiresAt: r.expiresAt }, 'load reserved');
  return {
    id: r.id,
    status: r.status,
    expiresAt: r.expiresAt,
    authorization: authorization.toString('base64'),
    signature: signature.toString('base64'),
    accountBalance: account.balance,
    reserved: account.reserved,
  };
}

async function commit(ctx: IssuerContext, req: IncomingMessage, id: string): Promise<unknown> {
  const account = ctx.accounts.require(householdOf(req.socket as TLSSocket));
  const body = await readJsonObject(req);
  const receipt = base64Field(body, 'receipt');
  const certificate = base64Field(body, 'cardCertificate');
  const now = ctx.clock();
  const r = ctx.accounts.reservation(account, id, now);
  if (r.status === 'reserved') {
    const key = ctx.cardKeys.keyFor(r.cardId, certificate);
    checkReceipt(r, receipt, key);
    ctx.cardKeys.pin(r.cardId, key);
  }
  const done = ctx.accounts.commit(account, r, now);
  ctx.logger?.info({ household: account.household, id, amount: done.amount, accountBalance: done.accountBalance }, 'load committed');
  return { id, status: 'committed', accountBalance: account.balance, reserved: account.reserved };
}

function voidLoad(ctx: IssuerContext, req: IncomingMessage, id: string): unknown {
  const account = ctx.accounts.require(householdOf(req.socket as TLSSocket));
  const r = ctx.accounts.reservation(account, id, ctx.clock());
  ctx.accounts.void(account, r);
  ctx.logger?.info({ household: account.household, id, status: r.status }, 'load released');
  return { ...r, accountBalance: account.balance, reserved: account.reserved };
}

export function issuerRoutes(ctx: IssuerContext): JsonRoute[] {
  return [
    { method: 'POST', pattern: /^\/v1\/loads$/, handler: (req) => load(ctx, req) },
    { method: 'POST', pattern: /^\/v1\/loads\/([^/]+)\/commit$/, handler: (req, [id]) => commit(ctx, req, id!) },
    { method: 'POST', pattern: /^\/v1\/loads\/([^/]+)\/void$/, handler: (req, [id]) => voidLoad(ctx, req, id!) },
    {
      method: 'GET',
      pattern: /^\/v1\/loads\/([^/]+)$/,
      handler: (req, [id]) => ({ ...ctx.accounts.reservation(ctx.accounts.require(householdOf(req.socket as TLSSocket)), id!, ctx.clock()) }),
    },
    {
      method: 'GET',
      pattern: /^\/v1\/account$/,
      handler: (req) => ctx.accounts.snapshot(ctx.accounts.require(householdOf(req.socket as TLSSocket)).household, ctx.clock()),
    },
  ];
}

/** The request handler for `https.createServer`, logging one line per request. */
export function issuerRequestHandler(ctx: IssuerContext): (req: IncomingMessage, res: ServerResponse) => void {
  const routes = issuerRoutes(ctx);
  return (req, res) => {
    const path = new URL(req.url ?? '/', 'https://issuer.invalid').pathname;
    const household = householdOf(req.socket as TLSSocket);
    void answer(res, () => {
      const { route, params } = matchRoute(routes, req.method ?? 'GET', path);
      return route.handler(req, params);
    }).then((status) => ctx.logger?.info({ method: req.method, path, status, household }, 'issuer request'));
  };
}
