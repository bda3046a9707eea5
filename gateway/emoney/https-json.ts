/**
 * JSON over HTTPS for the e-money manager's calls to markets and to the
 * issuer: TLS 1.3, the peer verified against a given CA, an optional client
 * certificate (the issuer wants the household's), a timeout, and typed
 * failures that say whether the peer was unreachable or answered an error.
 */
import { request } from 'node:https';
import { isIP } from 'node:net';

export class PeerError extends Error {
  override readonly name = 'PeerError';
  constructor(
    /** 'unreachable': no answer (retry later); 'refused': the peer answered an error. */
    readonly kind: 'unreachable' | 'refused',
    message: string,
    readonly status?: number,
    readonly peerCode?: string,
  ) {
    super(message);
  }
}

export interface HttpsJsonOptions {
  url: string;
  method: 'GET' | 'POST';
  body?: unknown;
  ca: string | Buffer;
  servername?: string;
  cert?: string | Buffer;
  key?: string | Buffer;
  timeoutMs?: number;
}

export function httpsJson<T = Record<string, unknown>>(o: HttpsJsonOptions): Promise<T> {
  const u = new URL(o.url);
  const payload = o.body === undefined ? undefined : JSON.stringify(o.body);
  const timeoutMs = o.timeoutMs ?? 5000;
  return new Promise((resolve, reject) => {
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
        timeout: timeoutMs,
        headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let json: Record<string, unknown>;
          try {
            json = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
          } catch {
            return reject(new PeerError('refused', `${u.origin} answered ${res.statusCode} without JSON`, res.statusCode));
          }
          const status = res.statusCode ?? 500;
          if (status >= 400) {
            const err = (json.error ?? {}) as { code?: string; message?: string };
            return reject(new PeerError(status >= 500 ? 'unreachable' : 'refused', err.message ?? `${u.origin} answered ${status}`, status, err.code));
          }
          resolve(json as T);
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (e) => reject(new PeerError('unreachable', `Cannot reach ${u.origin}: ${e.message}`)));
    req.end(payload);
  });
}
