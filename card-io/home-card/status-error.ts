/**
 * The one place where a status word becomes a typed CardError
 * (ISO/IEC 7816-4:2020 §5.6, tables 5 and 6, as PROTOCOL.md uses them).
 * Command parsers call `checkStatus`; nothing else interprets SW1 SW2.
 */
import { SW, isWrongPin, swHex, type ResponseApdu } from '../apdu/index.js';
import { CardError, CardErrorCode, type CardErrorContext } from '../errors.js';

/** The credential a 63Cx / 6983 answer counts tries for. */
export type Credential = 'PIN1' | 'PIN2' | 'PUK' | 'ADMIN';

/** Why VERIFY CERTIFICATE rejected a chain (PROTOCOL.md, reason byte after SW 6300). */
export type CertificateRejectionReason = 'untrusted' | 'bad-signature' | 'expired' | 'not-a-ca' | 'wrong-usage' | 'malformed';

export const CERTIFICATE_REJECTION_REASONS: Readonly<Record<number, CertificateRejectionReason>> = {
  0x01: 'untrusted',
  0x02: 'bad-signature',
  0x03: 'expired',
  0x04: 'not-a-ca',
  0x05: 'wrong-usage',
  0x06: 'malformed',
};

export interface StatusContext {
  /** Command name for the message and the context, e.g. 'VERIFY'. */
  command: string;
  /** Which credential a 63Cx or 6983 refers to, when the command checks one. */
  credential?: Credential;
}

const CREDENTIAL_TEXT: Readonly<Record<Credential, string>> = {
  PIN1: 'PIN1',
  PIN2: 'PIN2',
  PUK: 'PUK',
  ADMIN: 'admin key',
};

/** Simple rows: one status word, one code, one message. */
const SIMPLE: ReadonlyMap<number, { code: CardErrorCode; text: string }> = new Map([
  [SW.SECURITY_STATUS_NOT_SATISFIED, { code: CardErrorCode.SecurityStatusNotSatisfied, text: 'security status not satisfied' }],
  [SW.CONDITIONS_NOT_SATISFIED, { code: CardErrorCode.ConditionsNotSatisfied, text: 'conditions of use not satisfied' }],
  [SW.WRONG_DATA, { code: CardErrorCode.WrongData, text: 'wrong data' }],
  [SW.REFERENCED_DATA_NOT_FOUND, { code: CardErrorCode.NotFound, text: 'referenced data not found' }],
  [SW.FILE_NOT_FOUND, { code: CardErrorCode.NotFound, text: 'application not found' }],
  [SW.INS_NOT_SUPPORTED, { code: CardErrorCode.InsNotSupported, text: 'instruction not supported' }],
  [SW.CLA_NOT_SUPPORTED, { code: CardErrorCode.ClaNotSupported, text: 'class not supported' }],
  [SW.WRONG_LENGTH, { code: CardErrorCode.WrongLength, text: 'wrong length' }],
  [SW.NOT_ENOUGH_MEMORY, { code: CardErrorCode.NotEnoughMemory, text: 'not enough memory' }],
  [SW.RECORD_NOT_FOUND, { code: CardErrorCode.NotFound, text: 'record not found' }],
  [SW.INSUFFICIENT_FUNDS, { code: CardErrorCode.InsufficientFunds, text: 'insufficient funds' }],
  [SW.LIMIT_EXCEEDED, { code: CardErrorCode.LimitExceeded, text: 'over a purse limit' }],
  [SW.ALREADY_EXISTS, { code: CardErrorCode.AlreadyPaid, text: 'a payment for this market and order was already decided' }],
]);

function triesText(n: number): string {
  return n === 1 ? '1 try left' : `${n} tries left`;
}

/**
 * Map a response that is not 9000 to its CardError. The context holds the SW,
 * the command and (for PIN answers) the credential and tries left; never data
 * from the command. `response.data` is read only for the 6300 reason byte.
 */
export function statusError(response: ResponseApdu, { command, credential }: StatusContext): CardError {
  const sw = response.sw;
  const base: CardErrorContext = { sw, command };
  if (isWrongPin(sw)) {
    const triesLeft = sw & 0x0f;
    const what = credential ? `Wrong ${CREDENTIAL_TEXT[credential]}` : 'Verification failed';
    const blocked = triesLeft === 0 ? ', now blocked' : '';
    return new CardError(CardErrorCode.WrongPin, `${what}, ${triesText(triesLeft)}${blocked}`, {
      ...base,
      triesLeft,
      ...(credential ? { pin: credential } : {}),
    });
  }
  if (sw === SW.AUTH_METHOD_BLOCKED) {
    const what = credential ? CREDENTIAL_TEXT[credential] : 'Authentication method';
    return new CardError(CardErrorCode.PinBlocked, `${what} is blocked`, {
      ...base,
      triesLeft: 0,
      ...(credential ? { pin: credential } : {}),
    });
  }
  if (sw === SW.VERIFICATION_FAILED && response.data.length === 1) {
    const reason = CERTIFICATE_REJECTION_REASONS[response.data[0]!];
    if (reason) {
      return new CardError(CardErrorCode.CertificateRejected, `Card rejected the certificate chain: ${reason}`, {
        ...base,
        reason,
      });
    }
  }
  const simple = SIMPLE.get(sw);
  if (simple) {
    return new CardError(simple.code, `${command} failed: ${simple.text} (SW ${swHex(sw)})`, base);
  }
  return new CardError(CardErrorCode.CardStatus, `${command} failed with SW ${swHex(sw)}`, base);
}

/** Throw the mapped CardError unless the card answered 9000. */
export function checkStatus(response: ResponseApdu, context: StatusContext): void {
  if (response.sw !== SW.OK) throw statusError(response, context);
}
