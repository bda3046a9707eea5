/**
 * Never a secret in a log line: a whole flow with every
 * logger at its most verbose, the gateway's in-process (trace) and the card
 * emulator process's stderr (--log-level trace), and not one PIN, private key
 * or byte of the handed session in any of it.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { marketRequest } from '../../card-io/access-card/market-request.js';
import { capturingLogger } from '../helpers/link-probes.js';
import { DEMO_PINS, MARKET, refusalOf, startHousehold } from '../helpers/household/index.js';
import { ANY_PRIVATE_KEY, findSecrets, pinNeedle, privateKeyNeedle, stringsOf, windows, type Needle } from './secret-needles.js';

async function keyFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.key') && e.name !== 'card-admin.key').map((e) => join(e.parentPath, e.name));
}

test.serial(
  'A whole flow logged at trace level, in the gateway and in the card emulator process, shows no PIN, no private key and no byte of the handed ' + 'session',
  async (t) => {
    const logger = capturingLogger();
    const h = await startHousehold(t, { logger, emulatorLogLevel: 'trace' });
    const wrong = await h.accessCard(undefined, async (which) => (which === 'PIN1' ? '4321' : '8765'));
    const access = await h.accessCard();

    t.like(await refusalOf(wrong.unlock()), { code: 'pin-wrong', pin: 'PIN1' });
    await access.unlock();
    t.like(await refusalOf(wrong.authorize(MARKET)), { code: 'pin-wrong', pin: 'PIN2' });
    const session = await access.authorize(MARKET);
    const who = JSON.parse((await marketRequest(session, { method: 'GET', path: '/whoami' })).body.toString('utf8')) as { resumed: boolean };
    t.true(who.resumed);
    await access.lock();

    // The market's certificate travels inside the session in clear and is public: only the rest is secret.
    const certificateAt = session.session.indexOf(h.marketPki.serverCertificate);
    const certificateEnd = certificateAt + h.marketPki.serverCertificate.length;
    const inCertificate = (start: number, end: number) => certificateAt >= 0 && start < certificateEnd && end > certificateAt;
    const needles: Needle[] = [
      pinNeedle('PIN1', DEMO_PINS.pin1),
      pinNeedle('PIN2', DEMO_PINS.pin2),
      pinNeedle('PUK', DEMO_PINS.puk),
      pinNeedle('PIN1', '4321'),
      pinNeedle('PIN2', '8765'),
      ANY_PRIVATE_KEY,
      {
        what: 'the handed session',
        texts: [
          session.session.toString('base64'),
          session.session.toString('base64url'),
          session.session.toString('hex'),
          ...windows(session.session, 16, inCertificate),
        ],
      },
      { what: 'the card admin key', texts: [(await readFile(join(h.dataDir, 'sandbox', 'card-admin.key'), 'utf8')).trim()] },
    ];
    for (const file of await keyFiles(h.dataDir))
      needles.push(privateKeyNeedle(`the private key ${file.slice(h.dataDir.length + 1)}`, await readFile(file, 'utf8')));
    t.true(
      needles.some((n) => n.what.includes('terminals/demo/terminal.key')),
      "the terminal's key is among them",
    );

    const gatewayLog = logger.records.flatMap((r) => stringsOf([r.msg, r.fields]));
    t.true(
      logger.records.some((r) => r.level === 'trace'),
      'the gateway logged at trace level',
    );
    t.true(logger.records.length > 50, `the gateway logged ${logger.records.length} records`);
    t.deepEqual(findSecrets(gatewayLog, needles), [], 'gateway log');

    const emulatorLines = h.emulator
      .stderr()
      .split('\n')
      .filter((l) => l.trim() !== '');
    const emulatorLog = emulatorLines.flatMap((line) => {
      try {
        return stringsOf(JSON.parse(line));
      } catch {
        return [line];
      }
    });
    t.true(
      emulatorLines.some((l) => l.includes('"level":10')),
      'the emulator logged at trace level',
    );
    t.deepEqual(findSecrets(emulatorLog, needles), [], 'card emulator log');
  },
);
