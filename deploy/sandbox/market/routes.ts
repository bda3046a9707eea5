/**
 * The sandbox market's HTTP routes, all JSON:
 *
 * - `GET /catalog` → the catalogue;
 * - `GET /whoami`  → who the TLS layer authenticated, and whether the session
 *                    was resumed (what a terminal resuming the gateway's
 *                    session must see: the card-signed leaf, `resumed: true`);
 * - `GET /health`  → `{ ok: true }`;
 * - anything else  → 404 / 405 JSON errors.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import type { Catalogue } from './catalogue.js';
import type { MarketLogger } from './options.js';

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

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function error(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

type Route = (req: IncomingMessage) => unknown;

/** The request handler for `https.createServer`, logging one line per request. */
export function marketRequestHandler(
  catalogue: Catalogue,
  logger: MarketLogger | undefined,
): (req: IncomingMessage, res: ServerResponse) => void {
  const routes: Record<string, Route> = {
    '/catalog': () => catalogue,
    '/whoami': (req) => whoAmI(req.socket as TLSSocket),
    '/health': () => ({ ok: true }),
  };
  return (req, res) => {
    const path = new URL(req.url ?? '/', 'https://market.invalid').pathname;
    const route = routes[path];
    let status = 200;
    if (route === undefined) {
      status = 404;
      sendJson(res, status, error('not-found', `No route ${path}`));
    } else if (req.method !== 'GET' && req.method !== 'HEAD') {
      status = 405;
      res.setHeader('allow', 'GET, HEAD');
      sendJson(res, status, error('method-not-allowed', `${req.method} is not allowed on ${path}`));
    } else {
      sendJson(res, status, route(req));
    }
    const socket = req.socket as TLSSocket;
    logger?.info(
      { method: req.method, path, status, resumed: socket.isSessionReused(), client: socket.getPeerCertificate().subject?.CN },
      'market request',
    );
  };
}
