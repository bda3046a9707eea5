/**
 * A test client for markets, doing what the gateway and the terminal do in the
 * delegated handshake: a full TLS 1.3 handshake presenting `leaf + card`
 * certificate, waiting for the session ticket, and a resumption with only the
 * serialized session (no client key). Every wait has a timeout.
 */
import http from 'node:http';
import tls, { type TLSSocket } from 'node:tls';
import { portableSession, sessionForThisNode } from '../../card-io/base/tls/node-session-form.js';

export interface MarketConnectOptions {
  port: number;
  host?: string;
  /** SNI name; tickets are bound to it. Default `localhost`. */
  servername?: string;
  /** The market CA (PEM) the client verifies the server against. */
  marketCaPem: string;
  /** The client chain and key to present; omitted for a resumption or an anonymous client. */
  client?: { chainPem: string; keyPem: string };
  /** A serialized session (`tls` 'session' event) to resume. */
  session?: Buffer;
}

export interface MarketConnection {
  socket: TLSSocket;
  /** The newest session ticket received, waiting up to `timeoutMs` for the first one; undefined if none came. */
  session(timeoutMs?: number): Promise<Buffer | undefined>;
  /** One GET on this connection (keep-alive); resolves with status and parsed JSON body. */
  getJson(path: string): Promise<{ status: number; body: unknown }>;
  /** One POST of a JSON body on this connection; resolves with status and parsed JSON body. */
  postJson(path: string, body: unknown): Promise<{ status: number; body: unknown }>;
  close(): void;
}

export async function connectToMarket(o: MarketConnectOptions, timeoutMs = 5000): Promise<MarketConnection> {
  const servername = o.servername ?? 'localhost';
  // Sessions travel in OpenSSL's portable form (card-io/base/tls/node-session-form.ts), as the gateway hands them.
  const resumeWith = o.session ? await sessionForThisNode(o.session, servername) : undefined;
  const socket = tls.connect({
    host: o.host ?? '127.0.0.1',
    port: o.port,
    servername,
    ca: o.marketCaPem,
    minVersion: 'TLSv1.3',
    maxVersion: 'TLSv1.3',
    ALPNProtocols: ['http/1.1'],
    ...(o.client ? { cert: o.client.chainPem, key: o.client.keyPem } : {}),
    ...(resumeWith ? { session: resumeWith } : {}),
  });
  // Tickets arrive after the handshake (RFC 8446 §4.6.1): listen from the start.
  let latest: Buffer | undefined;
  const waiters: Array<() => void> = [];
  socket.on('session', (s: Buffer) => {
    latest = portableSession(s);
    for (const w of waiters.splice(0)) w();
  });
  const session = (wait = 2000): Promise<Buffer | undefined> =>
    latest !== undefined
      ? Promise.resolve(latest)
      : new Promise((resolve) => {
          const timer = setTimeout(() => resolve(undefined), wait);
          waiters.push(() => {
            clearTimeout(timer);
            resolve(latest);
          });
        });
  // A keep-alive agent whose only connection is this TLS socket, so several GETs share it.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  agent.createConnection = () => socket;
  const getJson = (path: string) => httpJson(agent, 'GET', path, undefined, timeoutMs);
  const postJson = (path: string, body: unknown) => httpJson(agent, 'POST', path, body, timeoutMs);
  const close = () => {
    agent.destroy();
    socket.destroy();
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      close();
      reject(new Error(`TLS handshake with port ${o.port} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.removeListener('error', onError);
      resolve({ socket, session, getJson, postJson, close });
    });
    const onError = (e: Error) => {
      clearTimeout(timer);
      close();
      reject(e);
    };
    socket.once('error', onError);
  });
}

function httpJson(agent: http.Agent, method: 'GET' | 'POST', path: string, body: unknown, timeoutMs: number): Promise<{ status: number; body: unknown }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const headers = payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) };
    const req = http.request({ method, path, host: 'localhost', agent, headers });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${path} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
        } catch {
          reject(new Error(`${method} ${path}: ${res.statusCode} with a body that is not JSON: ${text.slice(0, 200)}`));
        }
      });
    });
    req.end(payload);
  });
}

/**
 * Connect and GET `path`; resolves with the error that ended the attempt, or
 * rejects if the market answered. In TLS 1.3 the client finishes its side of
 * the handshake before the server has checked its certificate, so a refusal
 * shows up as an alert on the first read, not as a failed connect.
 */
export async function refusal(o: MarketConnectOptions, path = '/catalog'): Promise<Error> {
  let conn: MarketConnection;
  try {
    conn = await connectToMarket(o);
  } catch (e) {
    return e as Error;
  }
  // The TLS alert, when one arrives, says more than the HTTP client's "socket hang up".
  let alert: Error | undefined;
  conn.socket.on('error', (e: Error) => (alert ??= e));
  try {
    const answer = await conn.getJson(path);
    throw new Error(`The market answered ${answer.status} instead of refusing: ${JSON.stringify(answer.body)}`);
  } catch (e) {
    if ((e as Error).message.startsWith('The market answered')) throw e;
    return alert ?? (e as Error);
  } finally {
    conn.close();
  }
}
