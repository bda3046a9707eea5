import test from 'ava';
import { decodeBlock, encodeBlock, iBlock, rBlock, sBlock, type Block } from '../../card-io/t1/block.js';
import { crc16, lrc } from '../../card-io/t1/edc.js';

const hex = (s: string) => Buffer.from(s.replace(/\s/g, ''), 'hex');

// Vectors written out from ISO/IEC 7816-3:2006 §11.3 (PCB coding) with LRC epilogues.
const vectors: Array<[string, Block, string]> = [
  ['I(0) carrying SELECT', iBlock(0, false, hex('00A4040000')), '00 00 05 00A4040000 A5'],
  ['I(1) with the more bit', iBlock(1, true, hex('0102')), '00 60 02 0102 61'],
  ['I(0) with the more bit', iBlock(0, true, hex('ff')), '00 20 01 ff de'],
  ['R(0) acknowledging', rBlock(0), '00 80 00 80'],
  ['R(1) acknowledging', rBlock(1), '00 90 00 90'],
  ['R(0) reporting an EDC error', rBlock(0, 'edc'), '00 81 00 81'],
  ['R(1) reporting another error', rBlock(1, 'other'), '00 92 00 92'],
  ['S(RESYNCH request)', sBlock('RESYNCH', false), '00 C0 00 C0'],
  ['S(RESYNCH response)', sBlock('RESYNCH', true), '00 E0 00 E0'],
  ['S(IFS request 254)', sBlock('IFS', false, [254]), '00 C1 01 FE 3E'],
  ['S(IFS response 254)', sBlock('IFS', true, [254]), '00 E1 01 FE 1E'],
  ['S(ABORT request)', sBlock('ABORT', false), '00 C2 00 C2'],
  ['S(ABORT response)', sBlock('ABORT', true), '00 E2 00 E2'],
  ['S(WTX request 2)', sBlock('WTX', false, [2]), '00 C3 01 02 C0'],
  ['S(WTX response 2)', sBlock('WTX', true, [2]), '00 E3 01 02 E0'],
];

for (const [name, block, bytes] of vectors) {
  test(`${name} encodes to the bytes of the standard and decodes back`, (t) => {
    const encoded = encodeBlock(block, 0, 'lrc');
    t.deepEqual(encoded.toString('hex'), hex(bytes).toString('hex'));
    const decoded = decodeBlock(encoded[1]!, encoded.subarray(3, encoded.length - 1));
    t.deepEqual(decoded, block);
  });
}

test('LRC is the XOR of prologue and information field', (t) => {
  t.is(lrc(hex('00C101FE')), 0x3e);
});

test('CRC-16 matches the CRC-16/MCRF4XX check value (reflected 0x8408, init FFFF)', (t) => {
  t.is(crc16(Buffer.from('123456789')), 0x6f91);
});

test('A block with a CRC epilogue carries two EDC bytes, most significant first', (t) => {
  const encoded = encodeBlock(rBlock(1), 0, 'crc');
  t.is(encoded.length, 5);
  const c = crc16(encoded.subarray(0, 3));
  t.is(encoded.readUInt16BE(3), c);
});

const invalid: Array<[string, number, string]> = [
  ['an I-block with reserved PCB bits', 0x01, ''],
  ['an R-block with an information field', 0x80, '00'],
  ['an R-block with an unknown error code', 0x83, ''],
  ['an S-block of an unknown type', 0xc5, ''],
  ['S(IFS) without its size byte', 0xc1, ''],
  ['S(IFS) of 255', 0xc1, 'ff'],
  ['S(WTX) with a zero multiplier', 0xc3, '00'],
  ['S(RESYNCH) with an information field', 0xc0, '01'],
];
for (const [name, pcb, inf] of invalid) {
  test(`${name} is reported invalid, not decoded`, (t) => {
    const d = decodeBlock(pcb, hex(inf));
    t.true('invalid' in d);
  });
}

test('An information field over 254 bytes cannot be encoded', (t) => {
  t.throws(() => encodeBlock(iBlock(0, false, Buffer.alloc(255)), 0, 'lrc'), { message: /exceeds 254/ });
});
