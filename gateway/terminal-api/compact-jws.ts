/**
 * A compact JWS (RFC 7515 §7.1) taken apart and its ES256 signature checked
 * with node:crypto, for the terminal's signed requests (request-signature.ts).
 *
 * jose's compactVerify verifies with WebCrypto: an asynchronous job on the
 * thread pool per request (about 0.3 ms of the gateway's CPU per
 * authorization here, docs/PERFORMANCE.md) for what OpenSSL does in about
 * 0.05 ms synchronously. The format is small enough to read here, strictly:
 *
 * - three base64url parts (no padding, RFC 7515 §2), each checked before decoding;
 * - a protected header that is a JSON object; one with `crit` is refused
 *   (RFC 7515 §4.1.11: we understand no extension), so `b64: false`
 *   (RFC 7797, only valid through `crit`) never applies;
 * - the signature over the ASCII of `header "." payload` as sent, 64 bytes
 *   R || S for ES256 (RFC 7518 §3.4), nothing else.
 */
import { verify, type KeyObject } from 'node:crypto';

const BASE64URL_PART = /^[A-Za-z0-9_-]*$/;

export interface CompactJws {
  header: Record<string, unknown>;
  /** The payload bytes (not yet verified). */
  payload: Buffer;
  /** What the signature covers: the first two parts and the dot, as sent. */
  signingInput: string;
  signature: Buffer;
}

/** Why a string is not a compact JWS we read. */
export class CompactJwsError extends Error {
  constructor(readonly reason: 'parts' | 'base64url' | 'header' | 'crit') {
    super(`not a compact JWS: ${reason}`);
  }
}

export function parseCompactJws(jws: string): CompactJws {
  const parts = jws.split('.');
  if (parts.length !== 3) throw new CompactJwsError('parts');
  const [h, p, s] = parts as [string, string, string];
  if (h === '' || !BASE64URL_PART.test(h) || !BASE64URL_PART.test(p) || !BASE64URL_PART.test(s)) throw new CompactJwsError('base64url');
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
  } catch {
    throw new CompactJwsError('header');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new CompactJwsError('header');
  if ('crit' in header) throw new CompactJwsError('crit');
  return {
    header: header as Record<string, unknown>,
    payload: Buffer.from(p, 'base64url'),
    signingInput: `${h}.${p}`,
    signature: Buffer.from(s, 'base64url'),
  };
}

/** ES256 (ECDSA P-256, SHA-256; RFC 7518 §3.4) of the JWS with `key`. The caller checks `alg`. */
export function verifyEs256(jws: CompactJws, key: KeyObject): boolean {
  if (jws.signature.length !== 64) return false;
  return verify('sha256', Buffer.from(jws.signingInput, 'ascii'), { key, dsaEncoding: 'ieee-p1363' }, jws.signature);
}
