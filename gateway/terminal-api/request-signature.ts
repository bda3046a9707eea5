/**
 * Verifies a terminal's signed request (API.md, signed requests) and returns
 * the request's own fields (the payload's `body`).
 *
 * Checks, in the contract's order:
 *  1. the compact JWS (RFC 7515 §7.1) is `alg: ES256` and verifies with the
 *     public key of the client certificate presented on this TLS connection,
 *     which must be the enrolled one (its fingerprint is the registry's);
 *     keys named in the JWS header (jwk, x5c, jku) are never used →
 *     401 signature-invalid;
 *  2. header `kid` and payload `tid` equal the registered terminal id →
 *     403 signature-identity-mismatch;
 *  3. `method` and `path` equal this request's → 400 signature-wrong-request;
 *  4. `iat` within ±skew of the gateway clock and not before the gateway
 *     started → 401 request-expired;
 *  5. the nonce was not accepted before within the window → 409 request-replayed.
 * The nonce is recorded only after every other check passed, so a refused
 * request never burns it.
 */
import { createHash, X509Certificate, type KeyObject } from 'node:crypto';
import { CompactJwsError, parseCompactJws, verifyEs256, type CompactJws } from './compact-jws.js';
import { NONCE_BYTES, SIGNED_REQUEST_ALG, type SignedRequestPayload } from '../../card-io/access-card/request-signer.js';
import { ReplayGuard } from './replay-guard.js';
import { RequestSignatureError } from './request-signature-error.js';

export interface SignedRequestVerifierOptions {
  /** When the gateway started, ms since the epoch: nonces seen before a restart are forgotten, so older `iat`s are refused. */
  startedAt: number;
  /** Milliseconds since the epoch. Default Date.now. */
  clock?: () => number;
  /** Accepted clock difference, seconds. Default 120 (API.md). */
  skewSeconds?: number;
  /** Default: a ReplayGuard with its defaults and this clock. */
  replayGuard?: ReplayGuard;
  /** Longest JWS accepted, characters. Default 65 536; parse nothing bigger. */
  maxLength?: number;
}

export interface VerifyRequestParams {
  /** The request body (Content-Type application/jose). */
  jws: string;
  /** The client certificate presented on this TLS connection (parsed, or DER). */
  certificate: X509Certificate | Uint8Array;
  /**
   * The registry's record for that certificate (found active by the listener).
   * With `certFingerprint`, the certificate is checked to be that enrolled one.
   */
  terminal: { id: string; certFingerprint?: string };
  /** This request's method and path (as on the request line). */
  method: string;
  path: string;
}

/** Verification keys kept (one per enrolled terminal certificate); a household has far fewer terminals. */
const MAX_CACHED_KEYS = 256;

const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** Nonce length bounds in base64url characters: NONCE_BYTES bytes up to 96 bytes. */
const NONCE_MIN_CHARS = Math.ceil((NONCE_BYTES * 4) / 3);
const NONCE_MAX_CHARS = 128;

function invalid(reason: string, cause?: unknown): RequestSignatureError {
  return new RequestSignatureError('signature-invalid', 'The request signature is not valid', reason, { cause });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The payload's fields with their types checked; anything else is a bad JWS. */
function parsePayload(bytes: Uint8Array): SignedRequestPayload {
  let p: unknown;
  try {
    p = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw invalid('payload-not-json', e);
  }
  if (
    !isPlainObject(p) ||
    typeof p.tid !== 'string' ||
    typeof p.nonce !== 'string' ||
    typeof p.iat !== 'number' ||
    !Number.isFinite(p.iat) ||
    typeof p.method !== 'string' ||
    typeof p.path !== 'string' ||
    !isPlainObject(p.body)
  ) {
    throw invalid('payload-fields');
  }
  const { nonce } = p;
  if (nonce.length < NONCE_MIN_CHARS || nonce.length > NONCE_MAX_CHARS || !BASE64URL.test(nonce)) {
    throw invalid('nonce-format');
  }
  return p as unknown as SignedRequestPayload;
}

export class SignedRequestVerifier {
  readonly #startedAtSeconds: number;
  readonly #clock: () => number;
  readonly #skewSeconds: number;
  readonly #guard: ReplayGuard;
  readonly #maxLength: number;
  /**
   * Each enrolled certificate's public key, by certificate fingerprint
   * (`X509Certificate.publicKey` builds a new KeyObject per call). Bounded:
   * the oldest entry goes first.
   */
  readonly #keys = new Map<string, KeyObject>();

  constructor(options: SignedRequestVerifierOptions) {
    this.#startedAtSeconds = Math.floor(options.startedAt / 1000);
    this.#clock = options.clock ?? Date.now;
    this.#skewSeconds = options.skewSeconds ?? 120;
    this.#guard = options.replayGuard ?? new ReplayGuard({ clock: this.#clock });
    this.#maxLength = options.maxLength ?? 65_536;
  }

  /** Resolves with the payload's `body`; rejects with RequestSignatureError. */
  async verify(p: VerifyRequestParams): Promise<Record<string, unknown>> {
    const jws = p.jws.trim();
    if (jws.length > this.#maxLength) throw invalid('too-long');
    let parsed: CompactJws;
    try {
      parsed = parseCompactJws(jws);
    } catch (e) {
      throw invalid(e instanceof CompactJwsError && e.reason === 'crit' ? 'crit' : 'not-a-jws', e);
    }
    const { header } = parsed;
    // Before any key handling: 'none', HMAC and every other alg are refused here.
    if (header.alg !== SIGNED_REQUEST_ALG) throw invalid('alg');
    if (typeof header.kid !== 'string') throw invalid('kid-missing');

    const key = this.#verificationKey(p.certificate, p.terminal.certFingerprint);
    let verified: boolean;
    try {
      verified = verifyEs256(parsed, key);
    } catch (e) {
      throw invalid('signature', e);
    }
    if (!verified) throw invalid('signature');
    const payload = parsePayload(parsed.payload);

    if (header.kid !== p.terminal.id || payload.tid !== p.terminal.id) {
      throw new RequestSignatureError('signature-identity-mismatch', 'The request is signed for another terminal', 'kid-tid');
    }
    if (payload.method !== p.method.toUpperCase() || payload.path !== p.path) {
      throw new RequestSignatureError('signature-wrong-request', 'The signature is for another request', 'method-path');
    }
    const now = this.#clock() / 1000;
    if (Math.abs(payload.iat - now) > this.#skewSeconds) {
      throw new RequestSignatureError('request-expired', 'The request is too old or from the future; check the clock', 'iat-window');
    }
    if (payload.iat < this.#startedAtSeconds) {
      throw new RequestSignatureError('request-expired', 'The request was signed before the gateway started', 'iat-before-start');
    }
    // +1 s: the window check above is inclusive at iat + skew.
    const expiresAt = (payload.iat + this.#skewSeconds + 1) * 1000;
    const verdict = this.#guard.check(`${payload.tid}:${payload.nonce}`, expiresAt);
    if (verdict === 'replayed') {
      throw new RequestSignatureError('request-replayed', 'This request was already received', 'nonce-seen');
    }
    if (verdict === 'too-old') {
      throw new RequestSignatureError('request-expired', 'The request is too old to be checked for replay; sign it again', 'replay-floor');
    }
    return payload.body;
  }

  /** #enrolledKey, kept per certificate. */
  #verificationKey(presented: X509Certificate | Uint8Array, enrolledFingerprint: string | undefined): KeyObject {
    const { key, fingerprint } = this.#enrolledKey(presented, enrolledFingerprint);
    const kept = this.#keys.get(fingerprint);
    if (kept !== undefined) return kept;
    if (this.#keys.size >= MAX_CACHED_KEYS) this.#keys.delete(this.#keys.keys().next().value!);
    this.#keys.set(fingerprint, key);
    return key;
  }

  /** The public key of the presented certificate, provided it is the enrolled one and P-256. */
  #enrolledKey(presented: X509Certificate | Uint8Array, enrolledFingerprint: string | undefined): { key: KeyObject; fingerprint: string } {
    let certificate: X509Certificate;
    try {
      certificate = presented instanceof X509Certificate ? presented : new X509Certificate(Buffer.from(presented));
    } catch (e) {
      throw invalid('certificate-unreadable', e);
    }
    const fingerprint = createHash('sha256').update(certificate.raw).digest('hex');
    if (enrolledFingerprint !== undefined && fingerprint !== enrolledFingerprint.replace(/:/g, '').toLowerCase()) {
      throw new RequestSignatureError('signature-identity-mismatch', 'The client certificate is not the enrolled one', 'certificate');
    }
    const key = certificate.publicKey;
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw invalid('certificate-key-type');
    }
    return { key, fingerprint };
  }
}
