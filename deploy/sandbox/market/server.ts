/**
 * The sandbox electronic market: an HTTPS server that behaves like the
 * markets homegate delegates to (docs/ARCHITECTURE.md, "The delegated handshake"):
 *
 * - TLS 1.3 only (RFC 8446), ALPN `http/1.1` (RFC 7301);
 * - mutual TLS: a client certificate is requested and must chain to the
 *   issuer CA (`clientCa`); the card's certificate is a CA with pathLength 0,
 *   so the client sends `leaf + card certificate` and OpenSSL builds the path.
 *   A client that presents a chain that does not verify is disconnected as
 *   before; a client that presents none is let in for the payment API
 *   (PAYMENTS.md), and every other route answers it 403
 *   `client-certificate-required` (routes.ts);
 * - session tickets (RFC 8446 §4.6.1) sent after the handshake, so a terminal
 *   can resume the gateway's session without holding any client key: the
 *   resumed session keeps the client identity of the full handshake.
 */
import { constants } from 'node:crypto';
import { once } from 'node:events';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { resolveMarketOptions, type SandboxMarketOptions } from './options.js';
import { OrderBook } from './order-book.js';
import { marketRequestHandler } from './routes.js';

export interface SandboxMarket {
  /** `https://<host>:<port>`; a wildcard listen address is reported as `localhost`. */
  readonly url: string;
  readonly port: number;
  /** The name decision records must carry to pay this market. */
  readonly serverName: string;
  /** This market's orders (in memory). */
  readonly orders: OrderBook;
  /** Stops listening and closes open connections; resolves when the server is closed. */
  stop(): Promise<void>;
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

/** True when the client sent a Certificate message with a certificate in it. */
function presentedCertificate(socket: TLSSocket): boolean {
  const peer = socket.getPeerCertificate() as PeerCertificate | null;
  return peer?.raw !== undefined;
}

export async function startSandboxMarket(options: SandboxMarketOptions): Promise<SandboxMarket> {
  const o = resolveMarketOptions(options);
  const orders = new OrderBook();
  const payments = {
    catalogue: o.catalogue,
    orders,
    serverName: o.serverName,
    issuerCas: o.issuerCas,
    signer: o.signer,
    logger: o.logger,
    clock: () => new Date(),
  };
  const server = https.createServer(
    {
      cert: o.certPem,
      key: o.keyPem,
      ca: o.caPems,
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      // The client certificate is checked per connection and per request
      // (below, and routes.ts), so a payment client may come without one.
      requestCert: true,
      rejectUnauthorized: false,
      ALPNProtocols: ['http/1.1'],
      sessionTimeout: o.sessionTimeoutSeconds,
      ...(o.ticketKeys ? { ticketKeys: o.ticketKeys } : {}),
      // Node cannot set OpenSSL's num_tickets, and an OpenSSL TLS 1.3 server
      // always sends NewSessionTicket messages. With SSL_OP_NO_TICKET they are
      // stateful tickets (a session id into the server's cache); Node's server
      // keeps no cache unless 'resumeSession' is handled, so they never resume.
      ...(o.resumption ? {} : { secureOptions: constants.SSL_OP_NO_TICKET }),
    },
    marketRequestHandler(o.catalogue, o.logger, payments),
  );
  // What `rejectUnauthorized: true` did for a client that presents a chain:
  // one that does not verify is disconnected without an HTTP answer. Only a
  // client that presents no certificate at all gets in unauthorized.
  server.on('secureConnection', (socket: TLSSocket) => {
    if (socket.authorized || !presentedCertificate(socket)) return;
    o.logger?.warn({ code: socket.authorizationError, remote: socket.remoteAddress }, 'market handshake refused');
    socket.destroy();
  });
  // Handshakes that fail in OpenSSL land here. A chain that does not verify
  // does not: in TLS 1.3 the client's side is already complete, and the
  // socket is closed above without an alert; the client sees a reset /
  // "socket hang up".
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
    serverName: o.serverName,
    orders,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
