/**
 * Which API error a Node TLS failure is. Node reports the server-certificate
 * verification result with OpenSSL's X509_V_ERR names (without the prefix,
 * e.g. `CERT_HAS_EXPIRED`), a failed hostname check as
 * `ERR_TLS_CERT_ALTNAME_INVALID`, and a TLS alert from the peer as
 * `ERR_SSL_<version>_ALERT_<description>` (RFC 8446 §6.2 alert names).
 *
 * Client certificates in TLS 1.3: the client's handshake is complete (and
 * 'secureConnect' fires) when it has sent its Finished; the server checks the
 * client's Certificate after that, so a refusal reaches the client only
 * afterwards, either as an alert (OpenSSL-based servers: bad_certificate,
 * unknown_ca, certificate_expired, certificate_required, ...) or as a plain
 * close (Node servers with `rejectUnauthorized` verify after their handshake
 * and destroy the socket without an alert).
 */
import { ProxyErrorCode } from './proxy-error.js';

const UNTRUSTED = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_FORMAT',
]);

const EXPIRED = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERROR_IN_CERT_NOT_BEFORE_FIELD', 'ERROR_IN_CERT_NOT_AFTER_FIELD']);

/** Alerts a server sends about the client's certificate (RFC 8446 §6.2). */
const CLIENT_CERTIFICATE_ALERTS = [
  'BAD_CERTIFICATE',
  'UNSUPPORTED_CERTIFICATE',
  'CERTIFICATE_REVOKED',
  'CERTIFICATE_EXPIRED',
  'CERTIFICATE_UNKNOWN',
  'UNKNOWN_CA',
  'CERTIFICATE_REQUIRED',
  'ACCESS_DENIED',
  'DECRYPT_ERROR',
];
const CLIENT_CERTIFICATE_ALERT = new RegExp(`^ERR_SSL_(?:SSLV3|TLSV1|TLSV13)_ALERT_(?:${CLIENT_CERTIFICATE_ALERTS.join('|')})$`);

/** Socket errors that, after our certificate went out, mean the market hung up on it. */
const HANG_UP = new Set(['ECONNRESET', 'EPIPE', 'ERR_SSL_UNEXPECTED_EOF_WHILE_READING']);

export function errorCodeOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A failure while verifying the market (pre-flight, or our handshake before 'secureConnect'). */
export function classifyServerSideFailure(tlsCode: string | undefined): ProxyErrorCode {
  if (tlsCode === undefined) return ProxyErrorCode.MarketUnreachable;
  if (tlsCode === 'ERR_TLS_CERT_ALTNAME_INVALID') return ProxyErrorCode.MarketWrongHost;
  if (EXPIRED.has(tlsCode)) return ProxyErrorCode.MarketCertificateExpired;
  if (UNTRUSTED.has(tlsCode)) return ProxyErrorCode.MarketUntrusted;
  if (CLIENT_CERTIFICATE_ALERT.test(tlsCode)) return ProxyErrorCode.MarketRefusedClientCertificate;
  return ProxyErrorCode.MarketUnreachable;
}

/** A failure after 'secureConnect' of the authenticated handshake, before the ticket. */
export function classifyAfterHandshake(tlsCode: string | undefined): ProxyErrorCode {
  if (tlsCode !== undefined && (CLIENT_CERTIFICATE_ALERT.test(tlsCode) || HANG_UP.has(tlsCode))) {
    return ProxyErrorCode.MarketRefusedClientCertificate;
  }
  return ProxyErrorCode.MarketUnreachable;
}
