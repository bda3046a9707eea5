/**
 * The serialized TLS session (OpenSSL `SSL_SESSION`, what Node's 'session'
 * event and `tlsSocket.getSession()` give) is the common key handed to the
 * terminal (docs/ARCHITECTURE.md, the delegated handshake, step 4). Two things are
 * read or written here, nothing else: it is a secret and is never logged.
 *
 * Layout, from OpenSSL `ssl/ssl_asn1.c` (SSL_SESSION_ASN1):
 *
 *   SEQUENCE {
 *     version INTEGER, ssl_version INTEGER, cipher OCTET STRING,
 *     session_id OCTET STRING, master_key OCTET STRING,
 *     key_arg [0] OCTET STRING OPTIONAL,
 *     time [1] EXPLICIT INTEGER OPTIONAL, timeout [2] EXPLICIT INTEGER OPTIONAL,
 *     peer [3] EXPLICIT Certificate OPTIONAL, ...
 *     tlsext_tick_lifetime_hint [9] EXPLICIT INTEGER OPTIONAL,
 *     tlsext_tick [10] EXPLICIT OCTET STRING OPTIONAL, ... }
 *
 * In TLS 1.3 the hint is the server's `ticket_lifetime` from NewSessionTicket
 * (RFC 8446 §4.6.1: seconds, at most 604800); clients must not use the ticket
 * longer than that.
 */
import { derToPem } from '../../provisioning/pki/pem.js';
import { childrenOf, readOuterSequence, readTlv, readUnsignedInteger } from './der.js';

/** The PEM label OpenSSL uses for sessions (`PEM_STRING_SSL_SESSION`). */
export const SSL_SESSION_PEM_LABEL = 'SSL SESSION PARAMETERS';

/** Context tag [9] constructed (EXPLICIT): the ticket lifetime hint. */
const TICKET_LIFETIME_HINT_TAG = 0xa9;

/** PEM that `openssl sess_id -inform PEM` and `s_client -sess_in` read. */
export function sslSessionToPem(sessionDer: Uint8Array): string {
  return derToPem(sessionDer, SSL_SESSION_PEM_LABEL);
}

/**
 * The ticket lifetime hint in seconds, or null when the session carries none
 * (or is not an SSL_SESSION at all). Never throws.
 */
export function ticketLifetimeHint(sessionDer: Uint8Array): number | null {
  const outer = readOuterSequence(sessionDer);
  if (outer === null) return null;
  const fields = childrenOf(sessionDer, outer);
  const hint = fields?.find((f) => f.tag === TICKET_LIFETIME_HINT_TAG);
  if (hint === undefined) return null;
  const inner = readTlv(sessionDer, hint.contentStart, hint.end);
  if (inner === null || inner.end !== hint.end) return null;
  return readUnsignedInteger(sessionDer, inner);
}
