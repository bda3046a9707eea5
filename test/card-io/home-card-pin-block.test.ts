/**
 * PIN blocks (PROTOCOL.md "Encodings") and the rule that no error ever carries
 * the PIN: not in the message, not in the context.
 */
import test from 'ava';
import { CardErrorCode, isCardError, type CardError } from '../../card-io/errors.js';
import * as hc from '../../card-io/home-card/index.js';

test('A PIN block is the ASCII digits padded with FF to 8 bytes', (t) => {
  t.is(hc.encodePinBlock('PIN1', '1234').toString('hex'), '31323334ffffffff');
  t.is(hc.encodePinBlock('PIN2', '0000000').toString('hex'), '30303030303030ff');
  t.is(hc.encodePinBlock('PUK', '87654321').toString('hex'), '3837363534333231');
});

const rejected: Array<[hc.PinBlockKind, string, string]> = [
  ['PIN1', '123', 'PIN1 must be 4 to 8 digits (HG-601)'],
  ['PIN1', '123456789', 'PIN1 must be 4 to 8 digits (HG-601)'],
  ['PIN2', '12a4', 'PIN2 must be 4 to 8 digits (HG-601)'],
  ['PIN2', ' 1234', 'PIN2 must be 4 to 8 digits (HG-601)'],
  ['PIN1', '١٢٣٤', 'PIN1 must be 4 to 8 digits (HG-601)'], // Arabic-Indic digits are not ASCII
  ['PUK', '1234567', 'PUK must be exactly 8 digits (HG-601)'],
  ['PUK', '123456789', 'PUK must be exactly 8 digits (HG-601)'],
  ['PUK', '9876543x', 'PUK must be exactly 8 digits (HG-601)'],
];

for (const [kind, pin, message] of rejected) {
  test(`${kind} "${pin}" is rejected with InvalidArgument, and the error does not contain it`, (t) => {
    const e = t.throws<CardError>(() => hc.encodePinBlock(kind, pin));
    t.true(isCardError(e, CardErrorCode.InvalidArgument));
    t.is(e?.message, message);
    t.false(e!.message.includes(pin));
    t.false(JSON.stringify(e!.context).includes(pin));
    t.deepEqual(e!.context, { pin: kind });
  });
}

test('A PIN that is not a string is rejected without echoing it', (t) => {
  const e = t.throws<CardError>(() => hc.encodePinBlock('PIN1', 4321 as unknown as string));
  t.true(isCardError(e, CardErrorCode.InvalidArgument));
  t.false(e!.message.includes('4321'));
  t.false(JSON.stringify(e!.context).includes('4321'));
});

test('Builders reject a bad PIN before anything is built, without the PIN in the error', (t) => {
  const secret = '98765';
  const cases = [
    () => hc.buildVerifyPin('PIN1', '12'),
    () => hc.buildChangeReferenceData('PIN2', secret, '12'),
    () => hc.buildResetRetryCounter('PIN1', secret, '1234'), // a 5-digit PUK
    () => hc.buildPutPin('PUK', secret),
  ];
  for (const build of cases) {
    const e = t.throws<CardError>(build);
    t.true(isCardError(e, CardErrorCode.InvalidArgument));
    t.false(e!.message.includes(secret));
    t.false(JSON.stringify(e!.context).includes(secret));
  }
});

test('VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER refer to PIN1 as 81 and PIN2 as 82', (t) => {
  t.deepEqual(hc.PIN_REFERENCE, { PIN1: 0x81, PIN2: 0x82 });
});
