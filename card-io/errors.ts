/**
 * The one error class of card-io. Codes are grouped in bands by layer, so a
 * caller branches on `code` (or a band), never on message text. Messages end
 * with the code, e.g. "Wrong PIN1, 2 tries left (HG-401)".
 *
 * Secrets never go into a message or the context: a context holds lengths,
 * status words and names, not PINs, keys or APDU payloads.
 */
import { CodedError } from './base/coded-error.js';

export const CardErrorCode = {
  // 1xx: APDU format (ISO/IEC 7816-4 §5.1)
  MalformedApdu: 100,
  ApduTooLong: 101,

  // 2xx: T=1 block transport (ISO/IEC 7816-3 §11)
  BlockMalformed: 200,
  BlockTimeout: 201,
  ProtocolError: 202,
  Resynchronized: 203,
  Aborted: 204,
  TransportClosed: 205,
  /**
   * The link dropped or came back, or the card was reset, while a command was
   * in flight: its remaining blocks were dropped, and whether it ran is known
   * only from the card's own state (log, counters).
   */
  ExchangeInterrupted: 206,

  // 3xx: the byte link (serial port, TCP, memory) and the card socket (ISO/IEC 7816-3 §6 to §9)
  LinkDisconnected: 300,
  LinkOpenFailed: 301,
  LinkClosed: 302,
  CommandTimeout: 303,
  InvalidLinkAddress: 304,
  /** Another process holds the line (a tty locked by it); the line has one owner. */
  LineBusy: 305,
  /**
   * The card was pulled (the socket's detect switch opened) during the
   * exchange; context.outcome says 'not-sent' (the command never reached the
   * card) or 'unknown' (sent, no answer: the card's own log decides).
   */
  CardRemoved: 306,
  /** The Answer-to-Reset is malformed (§8.2); context.reason names the fault. */
  AtrInvalid: 307,
  /** No card in the socket, or it gave no ATR after a cold and a warm reset (§8.2, §6.2). */
  CardMute: 308,

  // 4xx: the card answered with a status word that is not 9000
  CardStatus: 400,
  WrongPin: 401,
  PinBlocked: 402,
  SecurityStatusNotSatisfied: 403,
  ConditionsNotSatisfied: 404,
  WrongData: 405,
  NotFound: 406,
  CertificateRejected: 407,
  AdminAuthFailed: 408,
  InsNotSupported: 409,
  ClaNotSupported: 410,
  WrongLength: 411,
  NotEnoughMemory: 412,
  InsufficientFunds: 413,
  LimitExceeded: 414,
  /** 6A89: the card already decided a payment for this market and order (PAY). */
  AlreadyPaid: 415,

  // 5xx: the emulator and its image file
  ImageCorrupt: 500,
  ImageMissing: 501,
  ImageExists: 502,
  /** The image could not be written; the card answers 6581 and keeps its state. */
  ImageWriteFailed: 503,

  // 6xx: provisioning and certificates handled off the card
  InvalidCertificate: 600,
  InvalidArgument: 601,
} as const;

export type CardErrorCode = (typeof CardErrorCode)[keyof typeof CardErrorCode];

export interface CardErrorContext {
  /** Status word as a number, e.g. 0x63c2, when the card answered. */
  sw?: number;
  /** Tries left, from 63Cx. */
  triesLeft?: number;
  /** Which PIN a PIN error refers to. */
  pin?: 'PIN1' | 'PIN2' | 'PUK' | 'ADMIN';
  /** A short machine-readable reason (e.g. certificate rejection reason). */
  reason?: string;
  [key: string]: unknown;
}

export class CardError extends CodedError<CardErrorCode, CardErrorContext> {
  override readonly name = 'CardError';
  readonly family = 'card';

  constructor(code: CardErrorCode, message: string, context: CardErrorContext = {}, options?: { cause?: unknown }) {
    super(code, `${message} (HG-${code})`, context, options);
  }

  /** The status word the card answered, if this error came from the card. */
  get sw(): number | undefined {
    return this.context.sw;
  }
}

export function isCardError(e: unknown, code?: CardErrorCode): e is CardError {
  return e instanceof CardError && (code === undefined || e.code === code);
}

/** True for errors of one band, e.g. `isCardErrorInBand(e, 400)` for any card status. */
export function isCardErrorInBand(e: unknown, band: 100 | 200 | 300 | 400 | 500 | 600): e is CardError {
  return e instanceof CardError && e.code >= band && e.code < band + 100;
}
