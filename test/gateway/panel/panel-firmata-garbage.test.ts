/**
 * The firmata panel against a peer that sends garbage (line noise, a sketch
 * that is not StandardFirmata, a half-sent sysex): random bytes (fast-check,
 * seed printed, HOMEGATE_SEED replays) after the handshake neither crash the
 * gateway nor stop it from driving its LEDs; once the noise ends (an F7
 * closes any sysex it left open), the button is read again.
 */
import fc from 'fast-check';
import { silentLogger } from '../../../card-io/base/log.js';
import { GatewayEvents } from '../../../gateway/events/gateway-events.js';
import { Panel } from '../../../gateway/panel/panel.js';
import { panelOptionsSchema } from '../../../gateway/panel/panel-options.js';
import { needsBinary } from '../../helpers/binaries.js';
import { startFirmataPeer } from '../../helpers/firmata-peer.js';
import { startPtyPair } from '../../helpers/pty.js';
import { seedFromEnv } from '../../helpers/seeded-random.js';

const socat = needsBinary('socat');
const PINS = { ready: 4, busy: 5, attention: 6, button: 7 };

async function until(what: string, check: () => boolean, limitMs = 5000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

socat.test('random bytes from the Firmata peer crash nothing: the LEDs are still driven, and the button is read once the noise ends', async (t) => {
  const seed = seedFromEnv();
  t.log(`seed ${seed} (HOMEGATE_SEED replays it)`);
  const pty = await startPtyPair(t);
  const peer = await startFirmataPeer(pty.cardPath);
  t.teardown(() => peer.close());
  const events = new GatewayEvents();
  const problems: string[] = [];
  events.on('problem', (p) => problems.push(p.message));
  const options = panelOptionsSchema.parse({
    plugin: 'firmata',
    device: pty.hostPath,
    pins: PINS,
    confirm: { payAbove: 0, timeoutMs: 20_000, longPressMs: 2000 },
  });
  const panel = await Panel.start({ options, events, logger: silentLogger });
  t.teardown(() => panel.close());
  await until('button watched', () => peer.modes.get(PINS.button) !== undefined);

  for (const bytes of fc.sample(fc.uint8Array({ minLength: 1, maxLength: 200 }), { seed, numRuns: 60 })) {
    peer.sendRaw(bytes);
    await new Promise((r) => setImmediate(r));
  }
  // The noise may have left a sysex open: its end byte closes it, as the next real sysex would.
  peer.sendRaw(Uint8Array.of(0xf7));
  await new Promise((r) => setTimeout(r, 100));

  events.emit('card-activated', { at: 1, cardId: 'c1' });
  await until('ready LED on after the noise', () => peer.output(PINS.ready) === 1);
  const waiting = panel.confirmation.awaitConfirmation({ kind: 'pay', amount: 10, currency: 'EUR', terminal: 't1' });
  peer.setInput(PINS.button, 1);
  await new Promise((r) => setTimeout(r, 50));
  peer.setInput(PINS.button, 0);
  await new Promise((r) => setTimeout(r, 100));
  peer.setInput(PINS.button, 1);
  await t.notThrowsAsync(waiting);
  t.log(`problems reported: ${problems.length ? problems.join('; ') : 'none'}`);
});
