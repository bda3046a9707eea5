/**
 * The terminal talks to the market directly (claim 7): it resumes the
 * session the gateway negotiated with the card and sends an HTTP/1.1 request
 * on that connection. It holds no market-facing key, so a market that
 * refuses the resumption and asks for a full handshake cannot be served:
 * that is an error (`AccessCardError` market-full-handshake), never a silent
 * fallback.
 */
// HTTP/1.1 over a TLS socket we opened ourselves (the resumed session): node:http with createConnection.
import { request } from 'node:http';
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { AccessCardError } from './access-card-error.js';
import type { HandedSession } from './handed-session.js';
import type { MarketContexts } from './market-contexts.js';
import { sessionForThisNode } from '../base/tls/node-session-form.js';

export interface MarketRequest {
  method: 'GET' | 'POST';
  path: string;
  body?: Buffer | string;
  headers?: Record<string, string>;
}

export interface MarketResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** Always true: a non-resumed connection throws instead. */
  resumed: boolean;
}

export interface MarketRequestOptions {
  /** Connect + TLS timeout in ms. Default 5000. */
  timeoutMs?: number;
  /** The access card's contexts per market anchor (market-contexts.ts); absent: a new context for this connection. */
  contexts?: MarketContexts;
}

export async function resumeMarketConnection(s: HandedSession, timeoutMs = 5000, contexts?: MarketContexts): Promise<TLSSocket> {
  // Handed in OpenSSL's portable form; this Node may resume only its own bound form (node-session-form.ts).
  const session = await sessionForThisNode(s.session, s.servername).catch((e: unknown) => {
    throw new AccessCardError('market-unreachable', `Cannot prepare the session for ${s.market} on this Node: ${(e as Error).message}`);
  });
  return new Promise((resolve, reject) => {
    // The anchor and TLS 1.3 are the context's; a kept context is not rebuilt per connection.
    const tlsContext: ConnectionOptions = contexts
      ? { secureContext: contexts.get(s.marketCaPem) }
      : { ca: s.marketCaPem, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' };
    const socket = connect({
      host: s.host,
      port: s.port,
      servername: s.servername,
      session,
      ...tlsContext,
      ...(s.alpn ? { ALPNProtocols: [s.alpn] } : {}),
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new AccessCardError('market-unreachable', `No TLS connection to ${s.host}:${s.port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      if (!socket.isSessionReused()) {
        socket.destroy();
        const message = `The market ${s.market} did not resume the delegated session (it asked for a full handshake); the terminal has no key for that`;
        return reject(new AccessCardError('market-full-handshake', message));
      }
      resolve(socket);
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(new AccessCardError('market-unreachable', `Cannot reach the market ${s.market} at ${s.host}:${s.port}: ${e.message}`));
    });
  });
}

export async function marketRequest(s: HandedSession, r: MarketRequest, o: MarketRequestOptions = {}): Promise<MarketResponse> {
  const socket = await resumeMarketConnection(s, o.timeoutMs ?? 5000, o.contexts);
  const body = r.body === undefined ? undefined : Buffer.from(r.body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: s.host,
        port: s.port,
        method: r.method,
        path: r.path,
        headers: { host: s.servername, ...(body ? { 'content-type': 'application/json', 'content-length': String(body.length) } : {}), ...r.headers },
        createConnection: () => socket,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          socket.end();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), resumed: true });
        });
        res.on('error', reject);
      },
    );
    req.on('error', (e) => reject(new AccessCardError('market-unreachable', `Request to ${s.market} failed: ${e.message}`)));
    req.end(body);
  });
}
