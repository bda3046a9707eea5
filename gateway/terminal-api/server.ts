/**
 * The terminal listener (claims 1, 8, 9, 10): HTTPS over TLS 1.3 only, mutual
 * authentication with certificates from the household CA. Every request is
 * identified by its client certificate against the registry before anything
 * else happens; POST bodies are signed requests (API.md) whose signature is
 * checked against that same certificate. Unregistered or revoked terminals
 * get a clear error and nothing is proxied.
 */
import { createHash, type X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../../card-io/base/log.js';
import { startStage, traced, type AuthorizationTrace } from '../trace/authorization-trace.js';
import { ApiError } from './api-error.js';
import { toHttpError } from './http-errors.js';
import { routeKey, type RouteTable, type TerminalIdentity } from './routes.js';

export interface TerminalApiOptions {
  cert: string | Buffer;
  key: string | Buffer;
  /** The household CA (PEM), and the enrollment intermediate if any: only certificates chaining to them are accepted from terminals. */
  ca: string | Buffer | Array<string | Buffer>;
  routes: RouteTable;
  logger: Logger;
  /** Find the registered terminal for a client certificate; throws ApiError terminal-unknown / terminal-revoked. */
  identify(certificateDer: Buffer, fingerprint: string): Promise<TerminalIdentity>;
  /** Verify a signed request (API.md) and return its inner body. Throws ApiError. */
  verifySignedRequest(args: { jws: string; terminal: TerminalIdentity; certificate: X509Certificate; method: string; path: string }): Promise<unknown>;
  /** Largest accepted request body in bytes. Default 65536. */
  maxBodyBytes?: number;
  /** Stage timings of every request (terminal-request, identify, signature-check, answer); absent: nothing measured. */
  trace?: AuthorizationTrace;
}

export function createTerminalApiServer(o: TerminalApiOptions): Server {
  const server = createServer(
    {
      cert: o.cert,
      key: o.key,
      ca: o.ca,
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      requestCert: true,
      // Checked per request instead, so /v1/health answers without a certificate.
      rejectUnauthorized: false,
    },
    (req, res) => void handle(o, req, res),
  );
  server.on('tlsClientError', (err) => o.logger.debug({ err: err.message }, 'terminal TLS handshake failed'));
  return server;
}

async function handle(o: TerminalApiOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = Date.now();
  const endRequest = startStage(o.trace, 'terminal-request');
  const path = new URL(req.url ?? '/', 'https://gateway').pathname;
  const method = req.method ?? 'GET';
  let terminal: TerminalIdentity | undefined;
  let status = 200;
  try {
    const route = o.routes[routeKey(method, path)];
    if (!route) throw new ApiError(404, 'not-found', `No such endpoint: ${method} ${path}`);
    let body: unknown;
    if (route.access === 'terminal') {
      const { certificate, fingerprint } = clientCertificate(req);
      const who = await traced(o.trace, 'identify', () => o.identify(certificate.raw, fingerprint));
      terminal = who;
      if (method === 'POST') {
        const jws = (await readBody(req, o.maxBodyBytes ?? 65536)).toString('utf8').trim();
        body = await traced(o.trace, 'signature-check', () => o.verifySignedRequest({ jws, terminal: who, certificate, method, path }));
      }
    } else if (method === 'POST') {
      // A public POST (pairing: the terminal has no certificate yet) carries plain JSON.
      body = parseJson(await readBody(req, o.maxBodyBytes ?? 65536));
    }
    const result = await route.handle({ terminal, body, req });
    const endAnswer = startStage(o.trace, 'answer');
    sendJson(res, 200, result);
    endAnswer?.();
  } catch (e) {
    const err = toHttpError(e);
    status = err.status;
    if (err.log) o.logger.error({ err: (e as Error)?.stack ?? String(e), method, path }, 'terminal request failed');
    if (err.code === 'body-too-large') closeAfterAnswer(req, res);
    sendJson(res, err.status, err.body);
  } finally {
    o.logger.info({ method, path, terminal: terminal?.id, status, ms: Date.now() - started }, 'terminal request');
    endRequest?.();
  }
}

/**
 * The client certificate of a connection, parsed and fingerprinted once per
 * TLS connection (a kept-alive terminal sends several requests on one): it
 * cannot change within a connection (TLS 1.3 has no renegotiation, RFC 8446 §4.6).
 */
const peerCertificates = new WeakMap<TLSSocket, { certificate: X509Certificate; fingerprint: string }>();

function clientCertificate(req: IncomingMessage): { certificate: X509Certificate; fingerprint: string } {
  const socket = req.socket as TLSSocket;
  const known = peerCertificates.get(socket);
  if (known !== undefined) return known;
  const certificate = socket.getPeerX509Certificate();
  if (certificate === undefined) throw new ApiError(401, 'client-certificate-required', 'A terminal certificate from the household CA is required');
  if (!socket.authorized) throw new ApiError(403, 'terminal-unknown', 'The terminal certificate is not from this household');
  const peer = { certificate, fingerprint: createHash('sha256').update(certificate.raw).digest('hex') };
  peerCertificates.set(socket, peer);
  return peer;
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new ApiError(400, 'bad-request', 'The request body is not JSON');
  }
}

/**
 * The body, refused as soon as it passes `limit` while it streams in (never
 * buffered whole). The rest of an oversized body is read and dropped, so the
 * 400 answer reaches the client: closing a socket with unread data makes the
 * kernel send a reset (RFC 1122 §4.2.2.13), which can destroy the answer
 * before the client reads it.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    const tooLarge = () => new ApiError(400, 'body-too-large', `Request body over ${limit} bytes`, { limit });
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      return reject(tooLarge());
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size <= limit) return void chunks.push(c);
      chunks.length = 0;
      req.off('data', onData);
      req.resume();
      reject(tooLarge());
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Most a client may still send after an oversized body was refused, and how long it may take, before the socket is cut. */
const DRAIN_BYTES = 16 * 1024 * 1024;
const DRAIN_MS = 5000;

/** Answer, then close the connection once the client has finished sending (or the drain bound is hit). */
function closeAfterAnswer(req: IncomingMessage, res: ServerResponse): void {
  res.setHeader('connection', 'close');
  let drained = 0;
  const cut = (): void => {
    clearTimeout(timer);
    req.socket.destroy();
  };
  const timer = setTimeout(cut, DRAIN_MS);
  timer.unref();
  req.on('data', (c: Buffer) => {
    drained += c.length;
    if (drained > DRAIN_BYTES) cut();
  });
  req.once('end', () => clearTimeout(timer));
  req.once('close', () => clearTimeout(timer));
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}
