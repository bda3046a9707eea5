/**
 * The sandbox market's HTTP routes, all JSON:
 *
 * - `GET /catalog` → the catalogue;
 * - `GET /whoami`  → who the TLS layer authenticated, and whether the session
 *                    was resumed (what a terminal resuming the gateway's
 *                    session must see: the card-signed leaf, `resumed: true`);
 * - `GET /health`  → `{ ok: true }`;
 * - the order and payment routes (payment-routes.ts, PAYMENTS.md);
 * - anything else  → 404 / 405 JSON errors (http-json.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate, PeerCertificate, TLSSocket } from 'node:tls';
import { answer, HttpError, matchRoute, type JsonRoute } from '../http-json.js';
import type { Catalogue } from './catalogue.js';
import type { MarketLogger } from './options.js';
import { PAYMENT_API_PREFIX, paymentRoutes, type PaymentContext } from './payment-routes.js';

export interface WhoAmI {
  /** Subject of the client's leaf certificate (RFC 2253-like, most specific first), or null. */
  clientSubject: string | null;
  clientIssuer: string | null;
  /** Subjects from the leaf upwards, as far as the server knows the chain. */
  chain: string[];
  /** True when the client's certificate verified against the market's client CA. */
  clientVerified: boolean;
  resumed: boolean;
  tlsVersion: string | null;
  alpn: string | false | null;
  servername: string | null;
}

/** `CN=a\nO=b` (Node's form) → `CN=a,O=b`. */
function dn(x509Name: string): string {
  return x509Name.split('\n').join(',');
}

function chainSubjects(leaf: DetailedPeerCertificate): string[] {
  const subjects: string[] = [];
  const seen = new Set<string>();
  for (let c: DetailedPeerCertificate | undefined = leaf; c?.raw !== undefined; c = c.issuerCertificate) {
    if (seen.has(c.fingerprint256)) break; // a self-signed root points at itself
    seen.add(c.fingerprint256);
    subjects.push(dn(new X509Certificate(c.raw).subject));
  }
  return subjects;
}

export function whoAmI(socket: TLSSocket): WhoAmI {
  const peer = socket.getPeerCertificate(true);
  const hasPeer = peer !== null && peer.raw !== undefined;
  const leaf = hasPeer ? new X509Certificate(peer.raw) : undefined;
  const servername = (socket as TLSSocket & { servername?: string | false }).servername;
  return {
    clientSubject: leaf ? dn(leaf.subject) : null,
    clientIssuer: leaf ? dn(leaf.issuer) : null,
    chain: hasPeer ? chainSubjects(peer) : [],
    clientVerified: socket.authorized,
    resumed: socket.isSessionReused(),
    tlsVersion: socket.getProtocol(),
    alpn: socket.alpnProtocol ?? null,
    servername: typeof servername === 'string' ? servername : null,
  };
}

/** The catalogue, identity and health routes. */
function baseRoutes(catalogue: Catalogue): JsonRoute[] {
  return [
    { method: 'GET', pattern: /^\/catalog$/, handler: () => catalogue },
    { method: 'GET', pattern: /^\/whoami$/, handler: (req) => whoAmI(req.socket as TLSSocket) },
    { method: 'GET', pattern: /^\/health$/, handler: () => ({ ok: true }) },
  ];
}

/**
 * The request handler for `https.createServer`, logging one line per request.
 * The TLS layer lets a client without a certificate in (for the payment API),
 * so the client certificate is enforced here: outside `/payment-api/` a
 * request on a connection whose client chain did not verify (`authorized`,
 * also true on a session resumed from a verified one) gets 403
 * `client-certificate-required`. Without `payments` the market has only the
 * catalogue, identity and health routes.
 */
export function marketRequestHandler(
  catalogue: Catalogue,
  logger: MarketLogger | undefined,
  payments?: PaymentContext,
): (req: IncomingMessage, res: ServerResponse) => void {
  const routes = [...baseRoutes(catalogue), ...(payments ? paymentRoutes(payments) : [])];
  return (req, res) => {
    const path = new URL(req.url ?? '/', 'https://market.invalid').pathname;
    const socket = req.socket as TLSSocket;
    // Read before answering: once the client has gone, the socket knows no peer.
    const peer = socket.getPeerCertificate() as PeerCertificate | null;
    const line = { method: req.method, path, resumed: socket.isSessionReused(), client: peer?.subject?.CN };
    void answer(res, () => {
      if (!path.startsWith(PAYMENT_API_PREFIX) && !socket.authorized) {
        throw new HttpError(403, 'client-certificate-required', `${path} needs a client certificate from the issuer CA`);
      }
      const { route, params } = matchRoute(routes, req.method ?? 'GET', path);
      return route.handler(req, params);
    }).then((status) => logger?.info({ ...line, status }, 'market request'));
  };
}
