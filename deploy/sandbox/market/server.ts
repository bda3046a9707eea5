/**
 * The sandbox electronic market: an HTTPS server that behaves like the
 * markets homegate delegates to (ARCHITECTURE.md, "The delegated handshake"):
 *
 * - TLS 1.3 only (RFC 8446), ALPN `http/1.1` (RFC 7301);
 * - mutual TLS: a client certificate is required and must chain to the
 *   issuer CA (`clientCa`); the card's certificate is a CA with pathLength 0,
 *   so the client sends `leaf + card certificate` and OpenSSL builds the path;
 * - session tickets (RFC 8446 §4.6.1) sent after the handshake, so a terminal
 *   can resume the gateway's session without holding any client key: the
 *   resumed session keeps the client identity of the full handshake.
 */
import { constants } from 'node:crypto';
import { once } from 'node:events';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { resolveMarketOptions, type SandboxMarketOptions } from './options.js';
import { marketRequestHandler } from './routes.js';

export interface SandboxMarket {
  /** `https://<host>:<port>`; a wildcard listen address is reported as `localhost`. */
  readonly url: string;
  readonly port: number;
  /** Stops listening and closes open connections; resolves when the server is closed. */
  stop(): Promise<void>;
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

export async function startSandboxMarket(options: SandboxMarketOptions): Promise<SandboxMarket> {
  const o = resolveMarketOptions(options);
  const server = https.createServer(
    {
      cert: o.certPem,
      key: o.keyPem,
      ca: o.caPems,
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['http/1.1'],
      sessionTimeout: o.sessionTimeoutSeconds,
      ...(o.ticketKeys ? { ticketKeys: o.ticketKeys } : {}),
      // Node cannot set OpenSSL's num_tickets, and an OpenSSL TLS 1.3 server
      // always sends NewSessionTicket messages. With SSL_OP_NO_TICKET they are
      // stateful tickets (a session id into the server's cache); Node's server
      // keeps no cache unless 'resumeSession' is handled, so they never resume.
      ...(o.resumption ? {} : { secureOptions: constants.SSL_OP_NO_TICKET }),
    },
    marketRequestHandler(o.catalogue, o.logger),
  );
  // A missing certificate fails the handshake (alert certificate_required) and
  // lands here. A chain that does not verify does not: in TLS 1.3 the client's
  // side is already complete, and Node closes the socket without an alert or
  // an event that names the reason; the client sees a reset / "socket hang up".
  server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: TLSSocket) => {
    o.logger?.warn({ code: err.code, reason: err.message, remote: socket.remoteAddress }, 'market handshake refused');
  });
  server.listen(o.port, o.host);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  o.logger?.info({ host: o.host, port, resumption: o.resumption }, 'sandbox market listening');
  return {
    url: `https://${urlHost(o.host)}:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
