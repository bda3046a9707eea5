/**
 * The authenticated TLS 1.3 connection to the market (docs/ARCHITECTURE.md, the
 * delegated handshake, step 3) and the wait for its session ticket.
 *
 * Order of events as the client sees them (RFC 8446 §2, §4.6.1):
 *   1. 'secureConnect': our Finished (after our Certificate) is sent. The
 *      market has not yet said whether it accepts the card-signed leaf.
 *   2a. accepted: the market sends NewSessionTicket(s); Node parses them while
 *       reading and emits 'session' with the serialized SSL_SESSION. Nothing
 *       needs to be written: TLS 1.3 servers send tickets right after reading
 *       the client's Finished.
 *   2b. refused: an alert (`ERR_SSL_..._ALERT_BAD_CERTIFICATE`, `..._UNKNOWN_CA`,
 *       `..._CERTIFICATE_EXPIRED`, ...) as an 'error', or, from Node-based
 *       markets, a plain close with no ticket (see tls-errors.ts).
 *   2c. no tickets at all: the connection just stays open → market-no-ticket.
 */
import tls from 'node:tls';
import type { Logger } from '../../card-io/base/log.js';
import { startStage, type AuthorizationTrace } from '../trace/authorization-trace.js';
import { marketConnectOptions, sha256 } from './market-chain.js';
import type { MarketTarget } from './proxy-options.js';
import { ProxyError, ProxyErrorCode } from './proxy-error.js';
import { classifyAfterHandshake, classifyServerSideFailure, errorCodeOf } from './tls-errors.js';
import { portableSession } from '../../card-io/base/tls/node-session-form.js';

export interface TicketedConnectParams {
  market: MarketTarget;
  /**
   * The credential's TLS client context: the ephemeral key (secret: never
   * logged), the session leaf followed by the card certificate, and the
   * market's anchors (client-context.ts), never built per connection. A
   * one-shot credential is loaded into its market's shared context: this
   * function calls `tls.connect` synchronously, before any later credential
   * can be loaded into that context, so keep it free of `await` before the
   * connect.
   */
  secureContext: tls.SecureContext;
  /** SHA-256 of the market leaf the card verified. */
  expectedLeafFingerprint: Buffer;
  /**
   * Node's `checkServerIdentity` already accepted that very leaf for this
   * market's servername (the chain's pre-flight, `MarketChain.hostNameCheckedFor`):
   * the connection then skips the check (see `skipCheckedHostName`) and accepts
   * only that leaf, by its fingerprint.
   */
  leafHostNameChecked?: boolean;
  connectTimeoutMs: number;
  ticketTimeoutMs: number;
  logger: Logger;
  /** Stage timings (market-handshake, ticket-wait); absent: nothing measured. */
  trace?: AuthorizationTrace;
}

export interface TicketedSession {
  /** DER SSL_SESSION with the ticket. Secret: never logged. */
  session: Buffer;
  /** The negotiated ALPN protocol, null when none. */
  alpn: string | null;
}

/**
 * Node's client calls `getPeerCertificate(true)` after every full handshake
 * only to hand it to `checkServerIdentity` (`onConnectSecure` in `_tls_wrap`):
 * a JS object per certificate of the market's chain, with names, three
 * fingerprints each and the raw bytes, ≈ 0.27 ms of the gateway's CPU per
 * authorization (docs/PERFORMANCE.md, third pass). When the leaf's host name
 * was already checked (`leafHostNameChecked`) that object is not needed: this
 * answers Node's one call with an empty object and removes itself, and the
 * connection's `checkServerIdentity` accepts. The leaf must then be the one
 * checked: 'secureConnect' compares its SHA-256 with the pinned fingerprint
 * before anything else and fails the connection otherwise. OpenSSL's
 * verification of the chain against the market's anchors
 * (`rejectUnauthorized`) is unchanged.
 */
function skipCheckedHostName(socket: tls.TLSSocket): void {
  Object.defineProperty(socket, 'getPeerCertificate', {
    configurable: true,
    writable: true,
    value(detailed?: boolean): tls.PeerCertificate | object | null {
      delete (socket as { getPeerCertificate?: unknown }).getPeerCertificate;
      return detailed === true ? {} : socket.getPeerCertificate(detailed);
    },
  });
}

/** After the ticket, how long the market gets to answer our close_notify before the socket is destroyed. */
const CLOSE_GRACE_MS = 1000;

/**
 * Connect with the card-signed certificate and resolve with the first session
 * ticket. Bounded in total by connectTimeoutMs + ticketTimeoutMs: both are
 * plain timers from the start of their stage, never idle timeouts a market
 * could keep resetting by trickling bytes.
 */
export function connectForTicket(p: TicketedConnectParams): Promise<TicketedSession> {
  const { market } = p;
  const context = { market: market.name, host: market.host, port: market.port };
  return new Promise((resolve, reject) => {
    let settled = false;
    let handshakeDone = false;
    let endStage = startStage(p.trace, 'market-handshake');
    const socket = tls.connect({
      ...marketConnectOptions(market),
      secureContext: p.secureContext,
      ...(p.leafHostNameChecked === true ? { checkServerIdentity: () => undefined } : {}),
    });
    if (p.leafHostNameChecked === true) skipCheckedHostName(socket);
    const settle = (error: ProxyError | null, result?: TicketedSession): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      endStage?.();
      if (error) {
        socket.destroy();
        reject(error);
        return;
      }
      // close_notify, so that the market does not count the connection as failed
      // (OpenSSL drops a session from its cache after an unclean shutdown).
      socket.end();
      // A hard bound, not an idle timeout: a market that keeps trickling bytes must not keep the socket.
      setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
      resolve(result!);
    };
    const fail = (code: ProxyErrorCode, message: string, extra: Record<string, unknown>, cause?: unknown): void => {
      settle(new ProxyError(code, message, { ...context, ...extra }, cause === undefined ? undefined : { cause }));
    };
    let timer = setTimeout(() => {
      fail(ProxyErrorCode.MarketUnreachable, `Market ${market.name} did not complete a TLS handshake in time`, {
        stage: 'handshake',
        reason: 'timeout',
      });
    }, p.connectTimeoutMs);

    let early: Buffer | undefined;
    const done = (session: Buffer): void => settle(null, { session, alpn: socket.alpnProtocol || null });
    socket.once('secureConnect', () => {
      handshakeDone = true;
      delete (socket as { getPeerCertificate?: unknown }).getPeerCertificate; // skipCheckedHostName's, if Node did not ask
      endStage?.();
      endStage = startStage(p.trace, 'ticket-wait');
      // The DER only: getPeerCertificate() would build a whole JS object of the certificate per connection.
      const leaf = socket.getPeerX509Certificate()?.raw;
      const seen = leaf === undefined ? Buffer.alloc(0) : sha256(leaf);
      if (!seen.equals(p.expectedLeafFingerprint)) {
        fail(ProxyErrorCode.MarketUntrusted, `Market ${market.name} presented another certificate than the card verified`, {
          stage: 'handshake',
          reason: 'market-certificate-changed',
          seenLeafFingerprint: seen.toString('hex'),
        });
        return;
      }
      if (p.logger.isLevelEnabled('debug')) p.logger.debug({ ...context, alpn: socket.alpnProtocol || null }, 'handshake done, waiting for the session ticket');
      if (early !== undefined) {
        done(early);
        return;
      }
      clearTimeout(timer);
      timer = setTimeout(() => {
        fail(ProxyErrorCode.MarketNoTicket, `Market ${market.name} sent no session ticket within ${p.ticketTimeoutMs} ms`, {
          stage: 'ticket',
          reason: 'timeout',
        });
      }, p.ticketTimeoutMs);
    });
    socket.once('session', (nodeSession: Buffer) => {
      // Handed on in OpenSSL's portable form, whichever form this Node gives (card-io/base/tls/node-session-form.ts).
      let session: Buffer;
      try {
        session = portableSession(nodeSession);
      } catch {
        fail(ProxyErrorCode.MarketNoTicket, `Market ${market.name}: Node gave a session it cannot read back`, {
          stage: 'ticket',
          reason: 'unreadable-session',
        });
        return;
      }
      // Not before the leaf check: hold a ticket that came first (TLS 1.3 sends it later anyway).
      if (handshakeDone) done(session);
      else early = session;
    });
    // Kept for the socket's whole life: an 'error' without a listener would crash the process.
    socket.on('error', (e) => {
      const tlsCode = errorCodeOf(e);
      if (handshakeDone) {
        fail(classifyAfterHandshake(tlsCode), `Market ${market.name} ended the connection: ${tlsCode ?? 'error'}`, { stage: 'ticket', tlsCode }, e);
      } else {
        fail(classifyServerSideFailure(tlsCode), `Handshake with market ${market.name} failed: ${tlsCode ?? 'error'}`, { stage: 'handshake', tlsCode }, e);
      }
    });
    socket.once('close', () => {
      if (handshakeDone) {
        fail(ProxyErrorCode.MarketRefusedClientCertificate, `Market ${market.name} closed the connection after our certificate, without a ticket`, {
          stage: 'ticket',
          reason: 'closed-after-handshake',
        });
      } else {
        fail(ProxyErrorCode.MarketUnreachable, `Market ${market.name} closed the connection during the handshake`, {
          stage: 'handshake',
          reason: 'closed',
        });
      }
    });
  });
}
