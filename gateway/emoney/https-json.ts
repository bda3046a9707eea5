/**
 * JSON over HTTPS for the gateway's calls to markets and to the issuer: TLS
 * 1.3, the peer verified against a given CA, an optional client certificate
 * (the issuer wants the household's), and typed failures.
 *
 * Every call is bounded, because the peer is not trusted to behave:
 * - a TOTAL deadline over connect, TLS, headers and body (an idle timeout
 *   alone lets a peer trickle one byte a second forever);
 * - a maximum answer size, checked against Content-Length and again while the
 *   body streams in, so an oversized answer is dropped as soon as it shows
 *   and never held in memory;
 * - the answer is parsed and, with `schema`, validated: a peer that answers
 *   2xx with something else than the agreed JSON is a `bad-answer`.
 */
import { request } from 'node:https';
import { isIP } from 'node:net';
import type { ZodType } from 'zod';
import { CodedError } from '../../card-io/base/coded-error.js';

/**
 * 'unreachable': no answer or a 5xx (retry later); 'refused': the peer answered
 * a 4xx; 'timeout': the deadline passed; 'too-large': the answer exceeded the
 * size limit; 'bad-answer': a 2xx that is not the JSON the API defines.
 */
export type PeerErrorKind = 'unreachable' | 'refused' | 'timeout' | 'too-large' | 'bad-answer';

/** `code` is the kind; the context holds the peer's HTTP status and error code, never its body. */
export class PeerError extends CodedError<PeerErrorKind> {
  override readonly name = 'PeerError';
  readonly family = 'peer';
  constructor(
    readonly kind: PeerErrorKind,
    message: string,
    readonly status?: number,
    readonly peerCode?: string,
    /** Body bytes received before the call ended (what the gateway held at most). */
    readonly bytesRead = 0,
  ) {
    super(kind, message, { status, peerCode, bytesRead });
  }
}

export function isPeerError(e: unknown, kind?: PeerErrorKind): e is PeerError {
  return e instanceof PeerError && (kind === undefined || e.kind === kind);
}

export const DEFAULT_DEADLINE_MS = 5000;
/** Market and issuer answers are a few hundred bytes; 1 MiB is generous. */
export const DEFAULT_MAX_ANSWER_BYTES = 1 << 20;

export interface HttpsJsonOptions<T = Record<string, unknown>> {
  url: string;
  method: 'GET' | 'POST';
  body?: unknown;
  ca: string | Buffer;
  servername?: string;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Total deadline in ms from the call to the last body byte. Default 5000. */
  timeoutMs?: number;
  /** Largest accepted answer body in bytes. Default 1 MiB. */
  maxBytes?: number;
  /** Validates a 2xx answer; a mismatch is a PeerError 'bad-answer'. */
  schema?: ZodType<T>;
}

export function httpsJson<T = Record<string, unknown>>(o: HttpsJsonOptions<T>): Promise<T> {
  const u = new URL(o.url);
  const payload = o.body === undefined ? undefined : JSON.stringify(o.body);
  const timeoutMs = o.timeoutMs ?? DEFAULT_DEADLINE_MS;
  const maxBytes = o.maxBytes ?? DEFAULT_MAX_ANSWER_BYTES;
  return new Promise((resolve, reject) => {
    let settled = false;
    let bytesRead = 0;
    const finish = (error: PeerError | null, value?: T): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      if (error) {
        // Drops the socket and whatever the peer still sends: nothing more is buffered.
        req.destroy();
        reject(error);
      } else resolve(value as T);
    };
    const req = request(
      {
        host: u.hostname,
        port: Number(u.port || 443),
        path: u.pathname + u.search,
        method: o.method,
        ca: o.ca,
        cert: o.cert,
        key: o.key,
        // SNI must be a host name (RFC 6066 §3), never an IP address.
        servername: o.servername ?? (isIP(u.hostname) ? undefined : u.hostname),
        minVersion: 'TLSv1.3',
        agent: false,
        headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {},
      },
      (res) => {
        const status = res.statusCode ?? 500;
        const declared = Number(res.headers['content-length']);
        if (Number.isFinite(declared) && declared > maxBytes) {
          return finish(new PeerError('too-large', `${u.origin} announced an answer of ${declared} bytes, over the limit of ${maxBytes}`, status));
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => {
          bytesRead += c.length;
          if (bytesRead > maxBytes) {
            finish(new PeerError('too-large', `${u.origin} sent an answer over the limit of ${maxBytes} bytes`, status, undefined, bytesRead));
          } else chunks.push(c);
        });
        res.on('error', (e) => finish(new PeerError('unreachable', `${u.origin} broke off its answer: ${e.message}`, status, undefined, bytesRead)));
        res.on('end', () => finish(...interpret<T>(o, u, status, Buffer.concat(chunks), bytesRead)));
      },
    );
    const deadline = setTimeout(() => {
      finish(new PeerError('timeout', `${u.origin} did not answer completely within ${timeoutMs} ms`, undefined, undefined, bytesRead));
    }, timeoutMs);
    req.on('error', (e) => finish(new PeerError('unreachable', `Cannot reach ${u.origin}: ${e.message}`, undefined, undefined, bytesRead)));
    req.end(payload);
  });
}

function interpret<T>(o: HttpsJsonOptions<T>, u: URL, status: number, body: Buffer, bytesRead: number): [PeerError | null, T?] {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8') || '{}');
  } catch {
    json = undefined;
  }
  if (status >= 400) {
    const err = (isObject(json) && isObject(json.error) ? json.error : {}) as { code?: unknown; message?: unknown };
    const message = typeof err.message === 'string' ? err.message.slice(0, 200) : `${u.origin} answered ${status}`;
    const code = typeof err.code === 'string' ? err.code.slice(0, 64) : undefined;
    return [new PeerError(status >= 500 ? 'unreachable' : 'refused', message, status, code, bytesRead)];
  }
  if (!isObject(json)) return [new PeerError('bad-answer', `${u.origin} answered ${status} without a JSON object`, status, undefined, bytesRead)];
  if (!o.schema) return [null, json as T];
  const parsed = o.schema.safeParse(json);
  if (!parsed.success) {
    // Only the paths of the bad fields: the values came from the peer.
    const fields = parsed.error.issues.map((i) => i.path.join('.') || '(answer)').join(', ');
    return [new PeerError('bad-answer', `${u.origin} answered with malformed fields: ${fields}`, status, undefined, bytesRead)];
  }
  return [null, parsed.data];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
