/**
 * PAY (PROTOCOL.md, "Purse", claim 4): 80 50 00 00 Lc DF52 order id ‖ DF53
 * amount ‖ DF54 currency ‖ DF55 time ‖ DF58 agreed amount, Le. Needs the released state (PIN2)
 * with a market verified in it (VERIFY CERTIFICATE first); uses up the
 * release. Answers the signed record (status paid). Refusals: 6910
 * InsufficientFunds, 6911 LimitExceeded, 6A80 WrongData (other currency, an
 * agreed amount that is not the amount, or a time rolled back more than 300
 * s), 6A89 AlreadyPaid (a payment for this market and order was decided), 6982, 6985 (no verified market, no purse).
 *
 * A signed record can exceed 256 bytes (a long market name), so Le is
 * extended (ISO/IEC 7816-4 §5.1, case 4E).
 */
import { MAX_EXTENDED_NE, commandApdu, encodeTlvs, type CommandApdu, type ResponseApdu } from '../../apdu/index.js';
import { parseSignedRecord, type SignedRecord } from '../decision-record.js';
import { PurseTag, encodeAmount, encodeCurrency, encodeOrderId, type MinorUnits } from '../purse-encoding.js';
import { checkStatus } from '../status-error.js';
import { encodeCardTime } from './verify-certificate.js';

export const PAY = 'PAY';

export interface PaymentRequest {
  /** The market's order id, 1 to 64 bytes of UTF-8. */
  orderId: string;
  /** Minor units, at least 1 (a safe-integer number or a bigint). */
  amount: MinorUnits;
  /** 3 ASCII letters; must be the purse's. */
  currency: string;
  /** Now, as the gateway knows it (whole seconds are sent). */
  time: Date;
  /** The amount the terminal showed and the person agreed to (DF58); the card refuses (6A80) unless it is `amount`. */
  agreedAmount: MinorUnits;
}

export function buildPay(p: PaymentRequest): CommandApdu {
  const data = encodeTlvs([
    [PurseTag.OrderId, encodeOrderId(p.orderId)],
    [PurseTag.Amount, encodeAmount(p.amount, 'amount', 1n)],
    [PurseTag.Currency, encodeCurrency(p.currency)],
    [PurseTag.Time, encodeCardTime(p.time)],
    [PurseTag.AgreedAmount, encodeAmount(p.agreedAmount, 'agreed amount', 1n)],
  ]);
  return commandApdu(0x80, 0x50, 0x00, 0x00, data, MAX_EXTENDED_NE);
}

export function parsePay(response: ResponseApdu): SignedRecord {
  checkStatus(response, { command: PAY });
  return parseSignedRecord(response.data);
}
