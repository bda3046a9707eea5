/**
 * What the gateway hands a terminal after a delegated authentication
 * (API.md, POST /v1/authorize): the common key, an OpenSSL SSL_SESSION
 * (DER), and what the terminal needs to resume it.
 */
export interface HandedSession {
  market: string;
  host: string;
  port: number;
  /** SNI: a TLS 1.3 ticket is bound to it (RFC 8446 §4.6.1; docs/ARCHITECTURE.md, the delegated handshake). */
  servername: string;
  /** ALPN protocol the ticket was issued under; tickets are bound to it too. */
  alpn: string | null;
  /** The serialized TLS session. A secret: never log it. */
  session: Buffer;
  ticketLifetimeSeconds: number | null;
  /** Subject of the card-signed client certificate the market saw. */
  clientSubject: string;
  certificateExpiresAt: string;
  /**
   * The market's trust anchor (PEM). A resumed TLS 1.3 session still carries the
   * market's certificate, and the terminal checks it against this anchor.
   */
  marketCaPem: string;
}

export function handedSessionFromJson(j: Record<string, unknown>): HandedSession {
  const str = (k: string): string => {
    if (typeof j[k] !== 'string') throw new Error(`Gateway answer lacks ${k}`);
    return j[k] as string;
  };
  if (typeof j.port !== 'number') throw new Error('Gateway answer lacks port');
  return {
    market: str('market'),
    host: str('host'),
    port: j.port,
    servername: str('servername'),
    alpn: typeof j.alpn === 'string' ? j.alpn : null,
    session: Buffer.from(str('session'), 'base64'),
    ticketLifetimeSeconds: typeof j.ticketLifetimeSeconds === 'number' ? j.ticketLifetimeSeconds : null,
    clientSubject: str('clientSubject'),
    certificateExpiresAt: str('certificateExpiresAt'),
    marketCaPem: str('marketCa'),
  };
}

/** OpenSSL's PEM form of an SSL_SESSION, readable by `openssl s_client -sess_in`. */
export function sessionToPem(session: Buffer): string {
  const b64 = session
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return `-----BEGIN SSL SESSION PARAMETERS-----\n${b64}\n-----END SSL SESSION PARAMETERS-----\n`;
}
