import test from 'ava';
import fc from 'fast-check';
import { commandApdu, encodeCommandApdu, parseCommandApdu } from '../../card-io/apdu/command-apdu.js';
import { encodeResponseApdu, parseResponseApdu, responseApdu } from '../../card-io/apdu/response-apdu.js';
import { isWrongPin, SW, swHex, wrongPin } from '../../card-io/apdu/status-words.js';
import { encodeTlvs, findTlv, parseTlvs } from '../../card-io/apdu/tlv.js';
import { CardError, CardErrorCode, isCardError } from '../../card-io/errors.js';

const hex = (s: string) => Buffer.from(s.replace(/\s/g, ''), 'hex');

// ISO/IEC 7816-4:2020 §5.1, the seven cases, written out by hand.
const cases: Array<[string, ReturnType<typeof commandApdu>, string]> = [
  ['case 1', commandApdu(0x00, 0x44, 0, 0), '00440000'],
  ['case 2S', commandApdu(0x00, 0x84, 0, 0, undefined, 16), '0084000010'],
  ['case 2S with Ne 256', commandApdu(0x00, 0xca, 0xdf, 0x01, undefined, 256), '00CADF0100'],
  ['case 3S', commandApdu(0x00, 0x20, 0, 0x81, hex('31323334ffffffff')), '002000810831323334FFFFFFFF'],
  ['case 4S', commandApdu(0x00, 0xa4, 0x04, 0x00, hex('F0484F4D4547415445 01'), 256), '00A404000AF0484F4D454741544501 00'],
  ['case 2E', commandApdu(0x00, 0xca, 0x7f, 0x21, undefined, 65536), '00CA7F21000000'],
  ['case 2E with Ne 1000', commandApdu(0x00, 0xca, 0x7f, 0x21, undefined, 1000), '00CA7F210003E8'],
  ['case 3E', commandApdu(0x00, 0xda, 0x7f, 0x21, Buffer.alloc(300, 0xab)), '00DA7F2100012C' + 'ab'.repeat(300)],
  ['case 4E', commandApdu(0x00, 0x2a, 0x00, 0xbe, Buffer.alloc(256, 1), 65536), '002A00BE000100' + '01'.repeat(256) + '0000'],
];

for (const [name, apdu, bytes] of cases) {
  test(`A ${name} command APDU encodes to its standard bytes and parses back`, (t) => {
    const encoded = encodeCommandApdu(apdu);
    t.is(encoded.toString('hex'), hex(bytes).toString('hex'));
    t.deepEqual(parseCommandApdu(encoded), apdu);
  });
}

const malformed: Array<[string, string]> = [
  ['shorter than the header', '00A404'],
  ['a short Lc longer than the data', '00A4040005 0102'],
  ['a short Lc with two trailing bytes', '00A4040001 01 0000'],
  ['a truncated extended length', '00A4040000 01'],
  ['an extended Lc of zero with data', '00A4040000 0000 01'],
  ['an extended Lc that does not match', '00A4040000 0005 0102'],
];
for (const [name, bytes] of malformed) {
  test(`A command APDU with ${name} is refused with MalformedApdu`, (t) => {
    const e = t.throws(() => parseCommandApdu(hex(bytes)), { instanceOf: CardError });
    t.is(e?.code, CardErrorCode.MalformedApdu);
  });
}

test('Any byte string either parses to an APDU that re-encodes to itself or is refused with a typed error', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      try {
        const apdu = parseCommandApdu(bytes);
        const again = parseCommandApdu(encodeCommandApdu(apdu));
        return again.data.equals(apdu.data) && again.ne === apdu.ne && again.ins === apdu.ins;
      } catch (e) {
        return isCardError(e, CardErrorCode.MalformedApdu);
      }
    }),
    { numRuns: 2000 },
  );
  t.pass('property held for all runs');
});

test('Any valid command APDU survives an encode and parse round trip', (t) => {
  fc.assert(
    fc.property(fc.nat(255), fc.nat(255), fc.uint8Array({ maxLength: 700 }), fc.integer({ min: 0, max: 65536 }), (cla, ins, data, ne) => {
      const apdu = commandApdu(cla, ins, 1, 2, data, ne);
      const back = parseCommandApdu(encodeCommandApdu(apdu));
      return back.cla === cla && back.ins === ins && back.data.equals(Buffer.from(data)) && back.ne === ne;
    }),
  );
  t.pass('property held for all runs');
});

test('Building an APDU with a header field out of byte range is refused', (t) => {
  t.throws(() => commandApdu(0x100, 0, 0, 0), { instanceOf: CardError });
  t.throws(() => commandApdu(0, 0, 0, 0, undefined, 70000), { instanceOf: CardError });
});

test('A response APDU splits into data and status word and encodes back', (t) => {
  const r = parseResponseApdu(hex('0102 63C2'));
  t.deepEqual([...r.data], [1, 2]);
  t.is(r.sw, 0x63c2);
  t.is(encodeResponseApdu(responseApdu(0x9000, hex('aa'))).toString('hex'), 'aa9000');
  t.throws(() => parseResponseApdu(hex('90')), { instanceOf: CardError });
});

test('63Cx carries the tries left and is recognised as a wrong PIN', (t) => {
  t.is(wrongPin(2), 0x63c2);
  t.true(isWrongPin(0x63c0));
  t.false(isWrongPin(SW.AUTH_METHOD_BLOCKED));
  t.is(swHex(SW.WRONG_DATA), '6A80');
});

test('TLVs with one- and two-byte tags and long lengths round-trip', (t) => {
  const long = Buffer.alloc(300, 7);
  const bytes = encodeTlvs([
    [0x84, hex('F048')],
    [0xdf01, hex('0102030405060708')],
    [0x7f21, long],
  ]);
  const items = parseTlvs(bytes);
  t.deepEqual(findTlv(items, 0x84), hex('F048'));
  t.deepEqual(findTlv(items, 0xdf01), hex('0102030405060708'));
  t.deepEqual(findTlv(items, 0x7f21), long);
  t.throws(() => parseTlvs(bytes.subarray(0, bytes.length - 1)), { instanceOf: CardError });
});
