/**
 * The sandbox issuer's routes (gateway/emoney/PAYMENTS.md, "Issuer"), JSON:
 *
 * - `POST /v1/loads` `{ cardId, amount, currency, challenge }` → the load
 *   authorization (PROTOCOL.md, LOAD: `DF57 card id ‖ DF53 amount ‖ DF54
 *   currency ‖ DF71 challenge`) signed with the load key (DER ECDSA P-256
 *   over SHA-256), and the account balance after the debit;
 * - `GET /v1/account` → the household's account, cards and loads.
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
import type { IssuerLogger } from './options.js';

/** The card's load challenge is 16 bytes (PROTOCOL.md, GET LOAD CHALLENGE). */
const CHALLENGE_LENGTH = 16;

export interface IssuerContext {
  accounts: AccountBook;
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
  ctx.accounts.check(account, cardId, amount, currency);
  const authorization = encodeLoadAuthorization({ cardId, amount, currency, challenge });
  const signature = signAuthorization(authorization, ctx.loadKey);
  const done = ctx.accounts.debit(account, cardId, amount, ctx.clock());
  ctx.logger?.info({ household: account.household, cardId, amount, accountBalance: done.accountBalance }, 'load authorized');
  return { authorization: authorization.toString('base64'), signature: signature.toString('base64'), accountBalance: done.accountBalance };
}

export function issuerRoutes(ctx: IssuerContext): JsonRoute[] {
  return [
    { method: 'POST', pattern: /^\/v1\/loads$/, handler: (req) => load(ctx, req) },
    {
      method: 'GET',
      pattern: /^\/v1\/account$/,
      handler: (req) => ctx.accounts.snapshot(ctx.accounts.require(householdOf(req.socket as TLSSocket)).household),
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
