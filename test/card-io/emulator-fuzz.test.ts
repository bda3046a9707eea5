import test from 'ava';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { createMemoryCardStore } from '../../card-io/emulator/card-store.js';
import { factoryFreshState } from '../../card-io/emulator/card-state.js';
import { apdu, makeIssuer, personalize, TestCard } from './emulator-helpers.js';
import { makeMarketPki } from './emulator-pki-fixtures.js';

const HANDLED = [0xa4, 0x84, 0x82, 0x20, 0x24, 0x2c, 0xca, 0x47, 0xda, 0x44, 0x2a, 0xfe];

test('Arbitrary bytes and arbitrary data for every command never make the applet throw or fail internally', async (t) => {
  const adminKey = randomBytes(32);
  const card = new TestCard(createMemoryCardStore(factoryFreshState(randomBytes(8), adminKey)));
  const market = await makeMarketPki();
  const { pins } = await personalize(card, adminKey, await makeIssuer(), [market.root.certificate]);
  const command = fc.record({
    cla: fc.constantFrom(0x00, 0x80, 0x0c, 0xff),
    ins: fc.constantFrom(...HANDLED),
    p1: fc.oneof(fc.constantFrom(0x00, 0x04, 0x80, 0x9e, 0xdf, 0x7f, 0xff), fc.integer({ min: 0, max: 255 })),
    p2: fc.oneof(fc.constantFrom(0x00, 0x01, 0x81, 0x82, 0x9a, 0x9c, 0xbe, 0x21, 0x20, 0x11), fc.integer({ min: 0, max: 255 })),
    data: fc.uint8Array({ maxLength: 300 }),
    ne: fc.constantFrom(0, 16, 256),
  });
  const raw = fc.uint8Array({ maxLength: 40 });
  await fc.assert(
    fc.asyncProperty(fc.oneof(command, raw), fc.boolean(), async (input, release) => {
      if (release) {
        await card.verifyPin(0x81, pins.pin1);
        await card.verifyPin(0x82, pins.pin2);
      }
      const bytes = input instanceof Uint8Array ? Buffer.from(input) : apdu(input.cla, input.ins, input.p1, input.p2, input.data, input.ne);
      const answer = await card.raw(bytes);
      const sw = answer.readUInt16BE(answer.length - 2);
      return sw !== 0x6f00 && sw !== 0x6581;
    }),
    { numRuns: 400 },
  );
  t.pass();
});
