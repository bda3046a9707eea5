/**
 * The ATR parser against known vectors (ISO/IEC 7816-3 §8.2; both conventions,
 * every interface byte, TCK right and wrong) and against generated input:
 * well-formed ATRs round-trip, random bytes give an ATR or an AtrInvalid error.
 */
import test from 'ava';
import fc from 'fast-check';
import { convertInverse, fromInverse } from '../../card-io/atr/atr-convention.js';
import { encodeAtr, t1CardAtr } from '../../card-io/atr/atr-encode.js';
import { atrLength, parseAtr, type InterfaceGroup } from '../../card-io/atr/atr.js';
import { baudRateFor } from '../../card-io/atr/atr-tables.js';
import { CardErrorCode, isCardError } from '../../card-io/errors.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

test('a T=0-only ATR without TD1 offers T=0 with ISO defaults and no TCK', (t) => {
  // 3B 02 14 50: T0 = 02 (no interface bytes, two historical bytes).
  const atr = parseAtr(hex('3B 02 14 50'));
  t.is(atr.convention, 'direct');
  t.deepEqual(atr.protocols, [0]);
  t.is(atr.fi, 372);
  t.is(atr.di, 1);
  t.is(atr.tck, 'absent');
  t.is(atr.historicalBytes.toString('hex'), '1450');
  t.deepEqual(atr.t1, { ifsc: 32, bwi: 4, cwi: 13, edc: 'lrc' });
});

test('a T=0 and T=1 card reads every interface byte and a valid TCK', (t) => {
  // Gemalto-style: TA1 96 (Fi 512, Di 32), TD1 T=0, TD2 T=1 with TA3 FE, TB3 45, TC3 01 (CRC), hist 31 80.
  const bytes = encodeAtr({
    groups: [
      { ta: 0x96, tb: 0x00, tc: 0x05, td: 0 },
      { ta: 0x80, tc: 0x0a, td: 1 },
      { ta: 0xfe, tb: 0x45, tc: 0x01 },
    ],
    historicalBytes: hex('3180'),
  });
  const atr = parseAtr(bytes);
  t.deepEqual(atr.protocols, [0, 1]);
  t.is(atr.fi, 512);
  t.is(atr.di, 32);
  t.is(atr.fmaxMHz, 5);
  t.is(atr.extraGuardTime, 5);
  t.deepEqual(atr.specificMode, { protocol: 0, canChange: false });
  t.deepEqual(atr.groups[0], { ta: 0x96, tb: 0x00, tc: 0x05, td: 0xd0 });
  t.is(atr.groups[1]!.tc, 0x0a);
  t.deepEqual(atr.t1, { ifsc: 0xfe, bwi: 4, cwi: 5, edc: 'crc' });
  t.is(atr.tck, 'valid');
});

test('a real T=1 ATR from a reader vector parses with its TCK valid', (t) => {
  // 3B F8 13 00 00 81 31 FE 45 4A 43 4F 50 76 32 34 31 B7 (a JCOP card, ATR_analysis example)
  const atr = parseAtr(hex('3BF81300008131FE454A434F5076323431B7'));
  t.deepEqual(atr.protocols, [1]);
  t.is(atr.fi, 372);
  t.is(atr.di, 4);
  t.deepEqual(atr.t1, { ifsc: 0xfe, bwi: 4, cwi: 5, edc: 'lrc' });
  t.is(atr.historicalBytes.toString('latin1'), 'JCOPv241');
  t.is(atr.tck, 'valid');
});

test('a wrong TCK is reported invalid and the rest still parses', (t) => {
  const atr = parseAtr(hex('3BF81300008131FE454A434F5076323431B6'));
  t.is(atr.tck, 'invalid');
  t.is(atr.t1.ifsc, 0xfe);
});

test('an inverse-convention ATR parses from its decoded characters (3F) and from the bytes a UART receives (03)', (t) => {
  const decoded = t1CardAtr({ convention: 'inverse', ifsc: 254, edc: 'crc' });
  t.is(decoded[0], 0x3f);
  const fromDecoded = parseAtr(decoded);
  const fromLine = parseAtr(convertInverse(decoded));
  t.is(convertInverse(decoded)[0], 0x03);
  for (const atr of [fromDecoded, fromLine]) {
    t.is(atr.convention, 'inverse');
    t.deepEqual(atr.protocols, [1]);
    t.deepEqual(atr.t1, { ifsc: 254, bwi: 4, cwi: 13, edc: 'crc' });
    t.is(atr.tck, 'valid');
  }
  t.deepEqual(fromLine.bytes, decoded);
});

test('the inverse conversion is its own inverse on every byte', (t) => {
  for (let b = 0; b < 256; b++) t.is(fromInverse(fromInverse(b)), b);
});

test('malformed ATRs are refused with AtrInvalid naming the fault', (t) => {
  const cases: [string, RegExp][] = [
    ['', /no bytes/],
    ['3A 00', /TS is 3A/],
    ['3B', /truncated/],
    ['3B 92 11', /truncated/],
    ['3B 00 00', /unexpected bytes/],
    ['3B 10 7F', /RFU/],
    ['3B 80 81 11 FF EF', /IFSC FF is reserved/],
  ];
  for (const [input, reason] of cases) {
    const e = t.throws(() => parseAtr(hex(input)), undefined, input);
    t.true(isCardError(e, CardErrorCode.AtrInvalid), input);
    t.regex((e as Error).message, reason, input);
  }
});

test('the length of an ATR is known as soon as its interface bytes are read', (t) => {
  const atr = hex('3BF81300008131FE454A434F5076323431B7');
  t.is(atrLength(atr.subarray(0, 1)), 'more');
  t.is(atrLength(atr.subarray(0, 5)), 'more');
  t.is(atrLength(atr.subarray(0, 7)), atr.length);
});

test("the home card's ATR offers T=1 with IFSC 254, its EDC and a faster TA1 that PPS can select", (t) => {
  const atr = parseAtr(t1CardAtr({ fi: 372, di: 4, ifsc: 254, edc: 'lrc', historicalBytes: Buffer.from('homegate') }));
  t.deepEqual(atr.protocols, [1]);
  t.is(atr.di, 4);
  t.is(atr.t1.ifsc, 254);
  t.is(atr.tck, 'valid');
  t.is(baudRateFor(9600, atr.fi, atr.di), 38400);
});

/** A well-formed layout: 1..4 groups, every TDi naming a protocol, the last without TD. */
const layoutArb = fc
  .record({
    convention: fc.constantFrom('direct' as const, 'inverse' as const),
    groups: fc.array(
      fc.record({
        ta: fc.option(fc.integer({ min: 1, max: 254 }), { nil: undefined }),
        tb: fc.option(fc.nat(255), { nil: undefined }),
        tc: fc.option(fc.nat(255), { nil: undefined }),
        t: fc.constantFrom(0, 1, 15),
      }),
      { minLength: 1, maxLength: 4 },
    ),
    historicalBytes: fc.uint8Array({ maxLength: 10 }),
  })
  .map(({ convention, groups, historicalBytes }) => {
    const g: InterfaceGroup[] = groups.map((x, i) => {
      const out: InterfaceGroup = {};
      // TA1 must name Table 7/8 entries: take it from a valid one.
      if (x.ta !== undefined) out.ta = i === 0 ? 0x11 + (x.ta % 3) : x.ta;
      if (x.tb !== undefined) out.tb = x.tb;
      if (x.tc !== undefined) out.tc = x.tc;
      if (i < groups.length - 1) out.td = x.t;
      return out;
    });
    return { convention, groups: g, historicalBytes };
  });

test('every generated well-formed ATR parses back to the groups and historical bytes it was built from', (t) => {
  fc.assert(
    fc.property(layoutArb, (layout) => {
      const bytes = encodeAtr(layout);
      if (bytes.length > 33) return true;
      const atr = parseAtr(bytes);
      const groups = atr.groups.map((g) => ({ ...g, ...(g.td === undefined ? {} : { td: g.td & 0x0f }) }));
      t.deepEqual(groups, layout.groups.length ? layout.groups : [{}]);
      t.deepEqual([...atr.historicalBytes], [...layout.historicalBytes]);
      t.is(atr.convention, layout.convention);
      t.not(atr.tck, 'invalid');
      if (layout.convention === 'inverse') t.deepEqual(parseAtr(convertInverse(bytes)).bytes, bytes);
      return true;
    }),
    { numRuns: 500 },
  );
});

test('random bytes give a parsed ATR or an AtrInvalid error, never another failure', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), fc.boolean(), (raw, startWithTs) => {
      const bytes = startWithTs && raw.length ? Buffer.concat([Buffer.from([0x3b]), raw.subarray(1)]) : Buffer.from(raw);
      try {
        const atr = parseAtr(bytes);
        t.true(atr.bytes.length <= 33);
      } catch (e) {
        if (!isCardError(e, CardErrorCode.AtrInvalid)) throw e;
      }
      try {
        atrLength(bytes);
      } catch (e) {
        if (!isCardError(e, CardErrorCode.AtrInvalid)) throw e;
      }
    }),
    { numRuns: 2000 },
  );
  t.pass();
});
