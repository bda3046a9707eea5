/** The CLI side of the admin socket: JSON over HTTP on <data>/gateway.sock. */
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { CodedError } from '../../card-io/base/coded-error.js';

/** `code` is the gateway's answer code (API.md, admin API) or `gateway-not-running`; `context.status` its HTTP status. */
export class AdminClientError extends CodedError<string> {
  override readonly name = 'AdminClientError';
  readonly family = 'admin-client';
  constructor(code: string, message: string, context: Record<string, unknown> = {}) {
    super(code, message, context);
  }
}

export function adminSocketPath(dataDir: string): string {
  return join(dataDir, 'gateway.sock');
}

/** True when something answers on the gateway's admin socket (a running gateway). */
export function gatewayAnswers(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(socket);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export function adminRequest(socketPath: string, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<Record<string, unknown>> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, headers: payload ? { 'content-type': 'application/json' } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const json = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
        if ((res.statusCode ?? 500) >= 400) {
          const e = (json.error ?? {}) as { code?: string; message?: string };
          return reject(new AdminClientError(e.code ?? 'error', e.message ?? `HTTP ${res.statusCode}`, { status: res.statusCode }));
        }
        resolve(json);
      });
    });
    req.on('error', (e: NodeJS.ErrnoException) =>
      reject(
        new AdminClientError(
          'gateway-not-running',
          `The gateway is not running (no admin socket at ${socketPath}: ${e.code ?? e.message}); start it with "homegate gateway run" or "npm start"`,
        ),
      ),
    );
    req.end(payload);
  });
}
