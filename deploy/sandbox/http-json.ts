/**
 * JSON over HTTP for the sandbox servers (market and issuer): typed errors
 * (`{ "error": { "code", "message" } }`, PAYMENTS.md), a size-limited body
 * reader, and field checks that report which field was wrong. Handlers throw
 * `HttpError`; the dispatcher turns it into the answer. Nothing here branches
 * on message text.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** An error a handler answers with: the HTTP status and a stable code. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  /** Methods the path allows, for a 405 answer's `allow` header. */
  allow?: string;
  constructor(
    readonly status: number,
    readonly code: string,
    /** The message without the code: what the JSON answer carries. */
    readonly detail: string,
  ) {
    super(`${detail} (${code})`);
  }
}

export function isHttpError(e: unknown): e is HttpError {
  return e instanceof HttpError;
}

export function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Request bodies are small JSON objects; anything larger is refused. */
export const MAX_BODY_BYTES = 64 * 1024;

/** The request body as a JSON object; 413 when too large, 400 `bad-request` when not a JSON object. */
export async function readJsonObject(req: IncomingMessage, maxBytes = MAX_BODY_BYTES): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new HttpError(413, 'body-too-large', `The body exceeds ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'bad-request', 'The body is not JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new HttpError(400, 'bad-request', 'The body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

function badField(name: string, what: string): HttpError {
  return new HttpError(400, 'bad-request', `${name} must be ${what}`);
}

export function stringField(body: Record<string, unknown>, name: string, maxLength = 256): string {
  const v = body[name];
  if (typeof v !== 'string' || v.length === 0 || v.length > maxLength) throw badField(name, `a string of 1..${maxLength} characters`);
  return v;
}

/** A safe integer in `min..max`. */
export function integerField(body: Record<string, unknown>, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = body[name];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw badField(name, `an integer in ${min}..${max}`);
  return v;
}

/** Canonical base64 (RFC 4648 §4) decoded; `length` when the size is fixed. */
export function base64Field(body: Record<string, unknown>, name: string, length?: number): Buffer {
  const v = body[name];
  const bytes = typeof v === 'string' ? Buffer.from(v, 'base64') : Buffer.alloc(0);
  if (typeof v !== 'string' || bytes.length === 0 || bytes.toString('base64') !== v || (length !== undefined && bytes.length !== length)) {
    throw badField(name, length === undefined ? 'base64' : `${length} bytes in base64`);
  }
  return bytes;
}

/** A card id: 16 hex digits, returned lower-case. */
export function cardIdField(body: Record<string, unknown>, name = 'cardId'): string {
  const v = body[name];
  if (typeof v !== 'string' || !/^[0-9a-fA-F]{16}$/.test(v)) throw badField(name, '16 hex digits');
  return v.toLowerCase();
}

export type JsonHandler = (req: IncomingMessage, params: readonly string[]) => unknown;

export interface JsonRoute {
  method: 'GET' | 'POST';
  /** Matched against the whole path; capture groups are the handler's params. */
  pattern: RegExp;
  handler: JsonHandler;
}

/**
 * The route for a request and its decoded params; throws HttpError 404
 * `not-found` (no path matches) or 405 `method-not-allowed` (with `allow`).
 * HEAD is answered as GET.
 */
export function matchRoute(routes: readonly JsonRoute[], method: string, path: string): { route: JsonRoute; params: string[] } {
  const matching = routes.filter((r) => r.pattern.test(path));
  if (matching.length === 0) throw new HttpError(404, 'not-found', `No route ${path}`);
  const route = matching.find((r) => r.method === (method === 'HEAD' ? 'GET' : method));
  if (route === undefined) {
    const err = new HttpError(405, 'method-not-allowed', `${method} is not allowed on ${path}`);
    err.allow = [...new Set(matching.flatMap((r) => (r.method === 'GET' ? ['GET', 'HEAD'] : [r.method])))].join(', ');
    throw err;
  }
  try {
    return {
      route,
      params: route.pattern
        .exec(path)!
        .slice(1)
        .map((p) => decodeURIComponent(p)),
    };
  } catch {
    throw new HttpError(400, 'bad-request', `Malformed path ${path}`);
  }
}

/** Run a handler and answer: its value as 200 JSON, an HttpError as its typed error, anything else as 500. Resolves with the status. */
export async function answer(res: ServerResponse, run: () => unknown): Promise<number> {
  try {
    const body = await run();
    sendJson(res, 200, body);
    return 200;
  } catch (e) {
    if (!isHttpError(e)) {
      sendJson(res, 500, errorBody('internal', 'The server failed to answer'));
      return 500;
    }
    if (e.allow !== undefined) res.setHeader('allow', e.allow);
    sendJson(res, e.status, errorBody(e.code, e.detail));
    return e.status;
  }
}
