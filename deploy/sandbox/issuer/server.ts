/**
 * The sandbox e-money issuer: the party that keeps each household's funding
 * account and signs the load authorizations a home card accepts (claim 6).
 * An HTTPS server, TLS 1.3 only (RFC 8446), with mutual authentication: the
 * gateway presents the household's credential, a client certificate issued
 * by the issuer CA (`clientCa`), and a client without a verified one is
 * refused during the handshake.
 */
import { once } from 'node:events';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { AccountBook, type IssuerAccount } from './accounts.js';
import { resolveIssuerOptions, type SandboxIssuerOptions } from './options.js';
import { CardKeys } from './load-commit.js';
import { issuerRequestHandler } from './routes.js';

export interface SandboxIssuer {
  /** `https://<host>:<port>`; a wildcard listen address is reported as `localhost`. */
  readonly url: string;
  readonly port: number;
  /** A copy of a household's account (balance, reserved, cards, loads, reservations), or undefined. */
  account(household: string): IssuerAccount | undefined;
  /** Stops listening and closes open connections; resolves when the server is closed. */
  stop(): Promise<void>;
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

export async function startSandboxIssuer(options: SandboxIssuerOptions): Promise<SandboxIssuer> {
  const o = resolveIssuerOptions(options);
  const accounts = new AccountBook(o.accounts);
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
    },
    issuerRequestHandler({ accounts, cardKeys: new CardKeys(), reservationTtlMs: o.reservationTtlMs, loadKey: o.loadKey, logger: o.logger, clock: o.clock }),
  );
  // A missing credential fails the handshake here (alert certificate_required);
  // one that does not verify is closed by Node without an event.
  server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: TLSSocket) => {
    o.logger?.warn({ code: err.code, reason: err.message, remote: socket.remoteAddress }, 'issuer handshake refused');
  });
  server.listen(o.port, o.host);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  o.logger?.info({ host: o.host, port, households: o.accounts.length }, 'sandbox issuer listening');
  return {
    url: `https://${urlHost(o.host)}:${port}`,
    port,
    account: (household) => accounts.snapshot(household, o.clock()),
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
