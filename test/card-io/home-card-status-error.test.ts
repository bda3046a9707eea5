/**
 * The status word → CardError table, every row (PROTOCOL.md, ISO/IEC 7816-4 §5.6).
 */
import test from 'ava';
import { responseApdu } from '../../card-io/apdu/index.js';
import { CardErrorCode, type CardErrorContext } from '../../card-io/errors.js';
import { statusError, type Credential } from '../../card-io/home-card/index.js';

interface Row {
  sw: number;
  data?: number[];
  credential?: Credential;
  code: CardErrorCode;
  message: string;
  context: CardErrorContext;
}

const rows: Row[] = [
  {
    sw: 0x63c2,
    credential: 'PIN1',
    code: CardErrorCode.WrongPin,
    message: 'Wrong PIN1, 2 tries left (HG-401)',
    context: { sw: 0x63c2, triesLeft: 2, pin: 'PIN1' },
  },
  { sw: 0x63c1, credential: 'PIN2', code: CardErrorCode.WrongPin, message: 'Wrong PIN2, 1 try left (HG-401)', context: { triesLeft: 1, pin: 'PIN2' } },
  {
    sw: 0x63c0,
    credential: 'PUK',
    code: CardErrorCode.WrongPin,
    message: 'Wrong PUK, 0 tries left, now blocked (HG-401)',
    context: { triesLeft: 0, pin: 'PUK' },
  },
  { sw: 0x63c9, credential: 'ADMIN', code: CardErrorCode.WrongPin, message: 'Wrong admin key, 9 tries left (HG-401)', context: { triesLeft: 9, pin: 'ADMIN' } },
  { sw: 0x6983, credential: 'PIN1', code: CardErrorCode.PinBlocked, message: 'PIN1 is blocked (HG-402)', context: { sw: 0x6983, pin: 'PIN1' } },
  {
    sw: 0x6982,
    code: CardErrorCode.SecurityStatusNotSatisfied,
    message: 'TEST failed: security status not satisfied (SW 6982) (HG-403)',
    context: { sw: 0x6982 },
  },
  {
    sw: 0x6985,
    code: CardErrorCode.ConditionsNotSatisfied,
    message: 'TEST failed: conditions of use not satisfied (SW 6985) (HG-404)',
    context: { sw: 0x6985 },
  },
  { sw: 0x6a80, code: CardErrorCode.WrongData, message: 'TEST failed: wrong data (SW 6A80) (HG-405)', context: { sw: 0x6a80 } },
  { sw: 0x6a88, code: CardErrorCode.NotFound, message: 'TEST failed: referenced data not found (SW 6A88) (HG-406)', context: { sw: 0x6a88 } },
  { sw: 0x6a82, code: CardErrorCode.NotFound, message: 'TEST failed: application not found (SW 6A82) (HG-406)', context: { sw: 0x6a82 } },
  {
    sw: 0x6300,
    data: [0x01],
    code: CardErrorCode.CertificateRejected,
    message: 'Card rejected the certificate chain: untrusted (HG-407)',
    context: { sw: 0x6300, reason: 'untrusted' },
  },
  {
    sw: 0x6300,
    data: [0x02],
    code: CardErrorCode.CertificateRejected,
    message: 'Card rejected the certificate chain: bad-signature (HG-407)',
    context: { reason: 'bad-signature' },
  },
  {
    sw: 0x6300,
    data: [0x03],
    code: CardErrorCode.CertificateRejected,
    message: 'Card rejected the certificate chain: expired (HG-407)',
    context: { reason: 'expired' },
  },
  {
    sw: 0x6300,
    data: [0x04],
    code: CardErrorCode.CertificateRejected,
    message: 'Card rejected the certificate chain: not-a-ca (HG-407)',
    context: { reason: 'not-a-ca' },
  },
  {
    sw: 0x6300,
    data: [0x05],
    code: CardErrorCode.CertificateRejected,
    message: 'Card rejected the certificate chain: wrong-usage (HG-407)',
    context: { reason: 'wrong-usage' },
  },
  {
    sw: 0x6300,
    data: [0x06],
    code: CardErrorCode.CertificateRejected,
    message: 'Card rejected the certificate chain: malformed (HG-407)',
    context: { reason: 'malformed' },
  },
  { sw: 0x6d00, code: CardErrorCode.InsNotSupported, message: 'TEST failed: instruction not supported (SW 6D00) (HG-409)', context: { sw: 0x6d00 } },
  { sw: 0x6e00, code: CardErrorCode.ClaNotSupported, message: 'TEST failed: class not supported (SW 6E00) (HG-410)', context: { sw: 0x6e00 } },
  { sw: 0x6700, code: CardErrorCode.WrongLength, message: 'TEST failed: wrong length (SW 6700) (HG-411)', context: { sw: 0x6700 } },
  { sw: 0x6a84, code: CardErrorCode.NotEnoughMemory, message: 'TEST failed: not enough memory (SW 6A84) (HG-412)', context: { sw: 0x6a84 } },
  { sw: 0x6581, code: CardErrorCode.CardStatus, message: 'TEST failed with SW 6581 (HG-400)', context: { sw: 0x6581 } },
  { sw: 0x6f00, code: CardErrorCode.CardStatus, message: 'TEST failed with SW 6F00 (HG-400)', context: { sw: 0x6f00 } },
  { sw: 0x6300, code: CardErrorCode.CardStatus, message: 'TEST failed with SW 6300 (HG-400)', context: { sw: 0x6300 } },
  { sw: 0x6300, data: [0x07], code: CardErrorCode.CardStatus, message: 'TEST failed with SW 6300 (HG-400)', context: { sw: 0x6300 } },
];

for (const row of rows) {
  const swText = row.sw.toString(16).toUpperCase();
  const dataText = row.data ? ` with data ${Buffer.from(row.data).toString('hex')}` : '';
  test(`SW ${swText}${dataText} maps to HG-${row.code}: "${row.message}"`, (t) => {
    const error = statusError(responseApdu(row.sw, Buffer.from(row.data ?? [])), {
      command: 'TEST',
      credential: row.credential,
    });
    t.is(error.code, row.code);
    t.is(error.message, row.message);
    t.like(error.context, { ...row.context, sw: row.sw, command: 'TEST' });
  });
}

test('A 63Cx without a known credential still says how many tries are left', (t) => {
  const error = statusError(responseApdu(0x63c4), { command: 'TEST' });
  t.is(error.code, CardErrorCode.WrongPin);
  t.is(error.message, 'Verification failed, 4 tries left (HG-401)');
  t.is(error.context.pin, undefined);
});
