/**
 * Local administration over a Unix socket in the data directory (mode 0600):
 * only the household's admin account on the gateway can reach it, no
 * network exposure, no password. Markets and terminals are managed here
 * while the gateway runs and owns the card and the registry.
 */
import { chmod, unlink } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../../card-io/base/log.js';
import { ApiError } from '../terminal-api/api-error.js';
import { toHttpError } from '../terminal-api/http-errors.js';

export type AdminHandler = (body: Record<string, unknown>, params: string[]) => Promise<unknown>;
/** "METHOD /path/:param" → handler; a plain map. */
export type AdminRoutes = Record<string, AdminHandler>;

function match(routes: AdminRoutes, method: string, path: string): { handler: AdminHandler; params: string[] } | undefined {
  const parts = path.split('/').filter(Boolean);
  for (const [key, handler] of Object.entries(routes)) {
    const [m, pattern] = key.split(' ') as [string, string];
    const want = pattern.split('/').filter(Boolean);
    if (m !== method || want.length !== parts.length) continue;
    const params: string[] = [];
    if (want.every((w, i) => (w.startsWith(':') ? (params.push(decodeURIComponent(parts[i]!)), true) : w === parts[i]))) return { handler, params };
  }
  return undefined;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  if (!chunks.length) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new ApiError(400, 'bad-request', 'The request body is not JSON');
  }
}

export async function startAdminServer(socketPath: string, routes: AdminRoutes, logger: Logger): Promise<Server> {
  await unlink(socketPath).catch(() => undefined); // a stale socket from a crash
  const server = createServer((req, res) => void handle(req, res));
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://admin').pathname;
    try {
      const found = match(routes, req.method ?? 'GET', path);
      if (!found) throw new ApiError(404, 'not-found', `No such admin endpoint: ${req.method} ${path}`);
      send(res, 200, await found.handler(await readJson(req), found.params));
    } catch (e) {
      // The terminal API's mapping (terminal-api/http-errors.ts): one answer per error, codes listed there.
      const err = toHttpError(e);
      if (err.log) logger.error({ err: (e as Error)?.stack ?? String(e), path }, 'admin request failed');
      send(res, err.status, err.body);
    }
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  await chmod(socketPath, 0o600);
  return server;
}

function send(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value ?? {});
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(text);
}
