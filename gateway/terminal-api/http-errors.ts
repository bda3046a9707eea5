/**
 * The one place where an error becomes an HTTP answer, for the terminal API
 * and the admin API alike. Domain code throws its own coded errors (card,
 * card session, authorization, purse, proxy, registry, history ...); this
 * module gives each family and code ONE status and ONE answer code, so the
 * same error never gets two answers.
 *
 * Only safe fields reach the answer: a code, a message written for people and
 * the scalar fields the API documents (API.md, "Errors"). Anything that is not
 * a coded error (a bug, a Node errno error such as ENOENT) is 500 `internal`
 * with a fixed message: its own message can hold paths or data, so it goes to
 * the gateway log only (`log` is true for those answers).
 */
import { CodedError, type SafeFields } from '../../card-io/base/coded-error.js';
import { CardError, CardErrorCode } from '../../card-io/errors.js';
import { PeerError } from '../emoney/https-json.js';
import { ApiError, type ApiErrorCode } from './api-error.js';

/** Every answer code has one status (API.md's table; `conflict` and `admin-auth-failed` are the admin API's). */
export const HTTP_STATUS: Record<ApiErrorCode, number> = {
  'bad-request': 400,
  'body-too-large': 400,
  'client-certificate-required': 401,
  'signature-invalid': 401,
  'signature-identity-mismatch': 403,
  'signature-wrong-request': 400,
  'request-expired': 401,
  'request-replayed': 409,
  'terminal-unknown': 403,
  'terminal-revoked': 403,
  'admin-auth-failed': 403,
  'market-unknown': 404,
  'not-found': 404,
  conflict: 409,
  'card-locked': 423,
  'card-absent': 503,
  'pin-wrong': 401,
  'pin-blocked': 423,
  'pin-throttled': 429,
  'market-unreachable': 502,
  'market-timeout': 504,
  'market-answer-too-large': 502,
  'market-bad-answer': 502,
  'market-untrusted': 502,
  'market-certificate-expired': 502,
  'market-wrong-host': 502,
  'market-refused-client-certificate': 502,
  'market-no-ticket': 502,
  'order-unknown': 404,
  'order-not-payable': 409,
  'insufficient-funds': 402,
  'limit-exceeded': 409,
  'topup-limit': 409,
  'issuer-refused': 409,
  'issuer-unreachable': 502,
  'issuer-timeout': 504,
  'issuer-bad-answer': 502,
  'decision-unknown': 404,
  'cancel-refused': 409,
  'card-refused': 409,
  'amount-mismatch': 409,
  'already-paid': 409,
  'not-your-decision': 403,
  'archive-damaged': 503,
  'pairing-refused': 403,
  'pairing-throttled': 429,
  internal: 500,
};

const INTERNAL_MESSAGE = 'Internal error; see the gateway log';

export interface HttpError {
  status: number;
  code: ApiErrorCode;
  /** True when the answer hides the error: the caller logs the error itself (never the answer). */
  log: boolean;
  body: { error: { code: ApiErrorCode; message: string } & SafeFields };
}

/** Map any thrown value to the one answer for it. */
export function toHttpError(e: unknown): HttpError {
  const mapped = e instanceof CodedError ? mapCoded(e) : undefined;
  if (!mapped || mapped.code === 'internal') {
    return { status: 500, code: 'internal', log: true, body: { error: { code: 'internal', message: INTERNAL_MESSAGE } } };
  }
  const { code, fields } = mapped;
  return { status: HTTP_STATUS[code], code, log: false, body: { error: { ...fields, code, message: (e as Error).message } } };
}

type Mapped = { code: ApiErrorCode; fields: SafeFields };

function mapCoded(e: CodedError): Mapped | undefined {
  if (e instanceof ApiError) return { code: e.code, fields: e.fields };
  if (e instanceof CardError) return mapCard(e);
  if (e instanceof PeerError)
    return {
      code:
        e.kind === 'timeout'
          ? 'market-timeout'
          : e.kind === 'too-large'
            ? 'market-answer-too-large'
            : e.kind === 'bad-answer'
              ? 'market-bad-answer'
              : 'market-unreachable',
      fields: {},
    };
  const code = String(e.code);
  switch (e.family) {
    // These families speak the API's words already (their codes are API codes).
    case 'emoney':
    case 'card-session':
    case 'authorization':
      return code in HTTP_STATUS ? { code: code as ApiErrorCode, fields: safe(e.context) } : undefined;
    case 'proxy':
      return code in HTTP_STATUS ? { code: code as ApiErrorCode, fields: { stage: typeof e.context.stage === 'string' ? e.context.stage : null } } : undefined;
    case 'registry':
    case 'enrollment':
    case 'history':
      if (code === 'not-found') return { code: 'not-found', fields: {} };
      if (code === 'invalid' || code === 'csr-invalid') return { code: 'bad-request', fields: { reason: code } };
      if (code === 'duplicate' || code === 'profile-exists') return { code: 'conflict', fields: { reason: code } };
      if (e.family === 'history' && code === 'corrupt') return { code: 'archive-damaged', fields: {} };
      return undefined; // a corrupt or missing registry, a registry not open: the gateway's fault
    case 'pairing':
      return code === 'pairing-refused' || code === 'pairing-throttled' ? { code, fields: {} } : undefined;
    case 'record-log':
      return { code: 'archive-damaged', fields: {} };
    case 'notify':
      return code === 'invalid-notification' || code === 'invalid-options' ? { code: 'bad-request', fields: { reason: code } } : undefined;
    default:
      return undefined;
  }
}

function mapCard(e: CardError): Mapped | undefined {
  const pin = typeof e.context.pin === 'string' ? e.context.pin : null;
  switch (e.code) {
    case CardErrorCode.WrongPin:
      return { code: 'pin-wrong', fields: { pin, triesLeft: e.context.triesLeft ?? 0 } };
    case CardErrorCode.PinBlocked:
      return { code: 'pin-blocked', fields: { pin } };
    // The card refused the admin key's proof (EXTERNAL AUTHENTICATE, ISO/IEC 7816-4 §11.5.4): forbidden, not absent.
    case CardErrorCode.AdminAuthFailed:
      return { code: 'admin-auth-failed', fields: {} };
    case CardErrorCode.SecurityStatusNotSatisfied:
      return { code: 'card-locked', fields: {} };
    case CardErrorCode.InvalidArgument:
    case CardErrorCode.InvalidCertificate:
      return { code: 'bad-request', fields: { cardErrorCode: e.code } };
    case CardErrorCode.InsufficientFunds:
      return { code: 'insufficient-funds', fields: {} };
    case CardErrorCode.LimitExceeded:
      return { code: 'limit-exceeded', fields: {} };
    case CardErrorCode.CertificateRejected:
      return { code: 'market-untrusted', fields: {} };
  }
  // A card pulled mid-command: say whether the command reached it ('not-sent') or may have run ('unknown').
  if (e.code === CardErrorCode.CardRemoved && typeof e.context.outcome === 'string') {
    return { code: 'card-absent', fields: { cardErrorCode: e.code, outcome: e.context.outcome } };
  }
  // APDU, T=1 and link bands (1xx-3xx): the card did not answer usefully.
  if (e.code < 400) return { code: 'card-absent', fields: { cardErrorCode: e.code } };
  // Any other status word: the card refused; nothing changed on it.
  if (e.code < 500) return { code: 'card-refused', fields: { cardErrorCode: e.code } };
  return undefined; // emulator image faults: the gateway's side
}

/** Keep scalar context values only: objects could carry anything. */
function safe(context: Record<string, unknown>): SafeFields {
  const out: SafeFields = {};
  for (const [k, v] of Object.entries(context)) {
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
  }
  return out;
}
