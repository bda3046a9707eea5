/**
 * Requests from dashboards, in zigbee2mqtt's manner: a JSON object on
 * `<prefix>/gateway/request/<command>`, answered on
 * `<prefix>/gateway/response/<command>`:
 *
 *   request  { "transaction": "abc" }                   (transaction optional: a string or number, echoed)
 *   response { "transaction": "abc", "status": "ok", "data": {...} }
 *            { "transaction": "abc", "status": "error", "error": { "code": "unknown-command", "message": "..." } }
 *
 * Who may send which command is the broker's ACL (deploy/mosquitto/acl): the
 * gateway trusts a request because the broker let it onto this topic, and
 * acts only on requests that arrived live: a retained message on a request
 * topic (left there by anyone, replayed at every subscribe) is ignored.
 * A request is answered once per transaction: a QoS 1 duplicate of one
 * already answered (or still running) gets the same answer and runs nothing
 * again. Only for DUPLICATE_WINDOW_MS, though: a duplicate comes within
 * seconds, while a dashboard that reuses its transaction id (a button that
 * sends the same body at every press) means a new request at the next press.
 */
import { isCodedError } from '../../card-io/base/coded-error.js';

export const DASHBOARD_COMMANDS = ['lock-card', 'refresh', 'identify', 'outbox/retry'] as const;
export type DashboardCommand = (typeof DASHBOARD_COMMANDS)[number];

/** Stable error codes of a response. */
export type RequestErrorCode = 'unknown-command' | 'malformed-request' | 'card-absent' | 'command-failed';

export interface RequestResponse {
  transaction?: string | number;
  status: 'ok' | 'error';
  data?: Record<string, unknown>;
  error?: { code: RequestErrorCode; message: string };
}

export type CommandHandlers = Record<DashboardCommand, (body: Record<string, unknown>) => Promise<Record<string, unknown>>>;

/** Request bodies over this are malformed (a dashboard request is a few bytes). */
const MAX_BODY_BYTES = 4096;
/** Transactions remembered for duplicates. */
const REMEMBERED = 64;
/** How long a transaction is remembered, ms: longer than any QoS 1 redelivery, shorter than a person pressing again. */
export const DUPLICATE_WINDOW_MS = 10_000;

export class DashboardRequests {
  /** The answer per transaction, a promise while its command runs (a duplicate arriving meanwhile waits for it). */
  readonly #answered = new Map<string, { at: number; response: Promise<RequestResponse> }>();

  constructor(
    private readonly handlers: CommandHandlers,
    private readonly clock: () => number = Date.now,
  ) {}

  /** The response to one request, or undefined when it must be ignored (retained). */
  async handle(command: string, payload: Buffer, retained: boolean): Promise<RequestResponse | undefined> {
    if (retained) return undefined;
    const body = parseBody(payload);
    if (typeof body === 'string') return error(undefined, 'malformed-request', body);
    const transaction = body.transaction as string | number | undefined;
    if (!isKnown(command)) return error(transaction, 'unknown-command', `Unknown command "${command}"; known: ${DASHBOARD_COMMANDS.join(', ')}`);
    const key = transaction === undefined ? undefined : `${command}\0${typeof transaction}\0${transaction}`;
    const now = this.clock();
    const earlier = key === undefined ? undefined : this.#answered.get(key);
    if (earlier && now - earlier.at < DUPLICATE_WINDOW_MS) return earlier.response;
    const response = this.#run(command, body, transaction);
    if (key !== undefined) this.#remember(key, { at: now, response });
    return response;
  }

  async #run(command: DashboardCommand, body: Record<string, unknown>, transaction: string | number | undefined): Promise<RequestResponse> {
    try {
      const data = await this.handlers[command](body);
      return { ...(transaction === undefined ? {} : { transaction }), status: 'ok', data };
    } catch (e) {
      return isCodedError(e) && e.code === 'card-absent' ? error(transaction, 'card-absent', 'The home card is absent') : failed(transaction, e);
    }
  }

  #remember(key: string, entry: { at: number; response: Promise<RequestResponse> }): void {
    this.#answered.delete(key); // re-inserted last: the oldest stays first
    this.#answered.set(key, entry);
    if (this.#answered.size > REMEMBERED) this.#answered.delete(this.#answered.keys().next().value as string);
  }
}

function isKnown(command: string): command is DashboardCommand {
  return (DASHBOARD_COMMANDS as readonly string[]).includes(command);
}

/** The body as an object, or why it is malformed. An empty payload is `{}` (a button with no payload). */
function parseBody(payload: Buffer): Record<string, unknown> | string {
  if (payload.length > MAX_BODY_BYTES) return `The request body is over ${MAX_BODY_BYTES} bytes`;
  if (payload.length === 0) return {};
  let v: unknown;
  try {
    v = JSON.parse(payload.toString('utf8'));
  } catch {
    return 'The request body is not JSON';
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'The request body is not a JSON object';
  const t = (v as Record<string, unknown>).transaction;
  if (t !== undefined && typeof t !== 'string' && typeof t !== 'number') return '"transaction" is not a string or a number';
  if (typeof t === 'string' && t.length > 128) return '"transaction" is over 128 characters';
  return v as Record<string, unknown>;
}

function error(transaction: string | number | undefined, code: RequestErrorCode, message: string): RequestResponse {
  return { ...(transaction === undefined ? {} : { transaction }), status: 'error', error: { code, message } };
}

/** A failure's code is kept when it is a coded error; its message is not sent (it may name files or hosts). */
function failed(transaction: string | number | undefined, e: unknown): RequestResponse {
  const code = isCodedError(e) ? String(e.code) : 'internal';
  return error(transaction, 'command-failed', `The command failed (${code})`);
}
