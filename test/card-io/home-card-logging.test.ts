/**
 * Logs carry the command name and status word only: no PIN, no PIN block, no
 * admin key, no challenge or cryptogram (never a secret in a log line).
 */
import { createHmac } from 'node:crypto';
import test from 'ava';
import { parseCommandApdu } from '../../card-io/apdu/index.js';
import type { CardError } from '../../card-io/errors.js';
import { HomeCard } from '../../card-io/home-card/index.js';
import { ScriptedTransport, capturingLogger, hex } from './home-card-fakes.js';

const PIN1 = '4711';
const PIN2 = '080815';
const PUK = '31415926';
const ADMIN_KEY = hex('c0ffee00112233445566778899aabbccddeeff00112233445566778899aabbcc');

/** A card that accepts everything and plays the admin side of PROTOCOL.md correctly. */
function agreeableCard() {
  let rc: Buffer = Buffer.alloc(0);
  const exchanged: Buffer[] = [];
  const transport = new ScriptedTransport((bytes) => {
    const apdu = parseCommandApdu(bytes);
    exchanged.push(apdu.data);
    if (apdu.ins === 0x84) {
      rc = hex('0f0e0d0c0b0a09080706050403020100');
      exchanged.push(rc);
      return Buffer.concat([rc, hex('9000')]);
    }
    if (apdu.ins === 0x82) {
      const rh = apdu.data.subarray(0, 16);
      const cryptogram = createHmac('sha256', ADMIN_KEY).update('HG-ADMIN-CARD').update(rh).update(rc).digest();
      exchanged.push(cryptogram);
      return Buffer.concat([cryptogram, hex('9000')]);
    }
    return hex('9000');
  });
  return { transport, exchanged };
}

test('A run of verifyPin1, setPins and authenticateAdmin logs no PIN and no admin key bytes', async (t) => {
  const { transport, exchanged } = agreeableCard();
  const logger = capturingLogger();
  const card = new HomeCard({ transport, logger });
  await card.authenticateAdmin(ADMIN_KEY);
  await card.setPins({ pin1: PIN1, pin2: PIN2, puk: PUK });
  await card.verifyPin1(PIN1);

  const text = JSON.stringify(logger.lines);
  const secrets = [PIN1, PIN2, PUK, ...[PIN1, PIN2, PUK].map((p) => Buffer.from(p).toString('hex'))];
  secrets.push(ADMIN_KEY.toString('hex'), ADMIN_KEY.toString('base64'));
  for (const data of exchanged.filter((d) => d.length > 0)) {
    secrets.push(data.toString('hex'), data.toString('base64'), data.subarray(0, 8).toString('hex'));
  }
  for (const secret of secrets) {
    t.false(text.toLowerCase().includes(secret.toLowerCase()), `log contains ${secret}`);
  }

  t.is(logger.lines.length, 6); // GET CHALLENGE, EXTERNAL AUTHENTICATE, 3 × PUT DATA, VERIFY
  for (const line of logger.lines) {
    t.is(line.level, 'debug');
    t.deepEqual(Object.keys(line.obj).sort(), ['channel', 'command', 'sw']);
  }
  t.deepEqual(
    logger.lines.map((l) => `${l.obj['command']} ${l.obj['sw']}`),
    ['GET CHALLENGE 9000', 'EXTERNAL AUTHENTICATE 9000', 'PUT DATA 9000', 'PUT DATA 9000', 'PUT DATA 9000', 'VERIFY 9000'],
  );
});

test('A refused VERIFY logs its status word, and neither the log nor the error holds the PIN', async (t) => {
  const logger = capturingLogger();
  const card = new HomeCard({ transport: ScriptedTransport.replies('63C2'), logger });
  const e = await t.throwsAsync<CardError>(card.verifyPin1(PIN1));
  t.deepEqual(
    logger.lines.map((l) => l.obj),
    [{ channel: 'home-card', command: 'VERIFY', sw: '63C2' }],
  );
  const everything = JSON.stringify(logger.lines) + String(e?.message) + JSON.stringify(e?.context);
  t.false(everything.includes(PIN1));
  t.false(everything.includes(Buffer.from(PIN1).toString('hex')));
});

test('A transport failure is logged with the command name and error code only', async (t) => {
  const logger = capturingLogger();
  const transport = new ScriptedTransport(() => Promise.reject(new Error('link down')));
  const card = new HomeCard({ transport, logger });
  await t.throwsAsync(card.verifyPin2('24680'), { message: 'link down' });
  t.deepEqual(
    logger.lines.map((l) => l.obj),
    [{ channel: 'home-card', command: 'VERIFY', code: undefined }],
  );
});
