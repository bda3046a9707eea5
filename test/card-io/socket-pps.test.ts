/**
 * PPS (ISO/IEC 7816-3 §9) over a real pty pair (socat): the emulator as its
 * own process on the card side, the host's serial port on the other. The
 * card offers Di = 4 in TA1; accepted, the host port really runs at four
 * times the speed (serialport's baudRate after update) and T=1 works on it.
 */
import { needsBinary } from '../helpers/binaries.js';
import { startPtyPair } from '../helpers/pty.js';
import { bootVirtualSocket } from '../helpers/virtual-socket.js';
import { activateHomeCard } from '../../card-io/home-card/connect-socket.js';
import { encodePps, ppsOutcome } from '../../card-io/socket/pps.js';
import test from 'ava';

const socat = needsBinary('socat');

socat.test('PPS accepted: the card echoes, the host port switches to Fi/Di of TA1 and commands run at the new speed', async (t) => {
  const pty = await startPtyPair(t);
  const v = await bootVirtualSocket(t, { cardDevice: pty.cardPath, hostDevice: pty.hostPath });
  const active = await activateHomeCard({ socket: v.socket, baudRate: 115200 });
  t.teardown(() => active.close());
  t.is(active.activation.pps.outcome, 'accepted');
  t.is(active.activation.baudRate, 460_800);
  t.is(v.link.baudRate, 460_800);
  t.regex((await active.card.info()).cardId, /^[0-9a-f]{16}$/);
  // The next reset starts at the default speed again (§8.1), and negotiates again.
  active.close();
  const again = await activateHomeCard({ socket: v.socket, baudRate: 115200 }, 'warm');
  t.teardown(() => again.close());
  t.is(again.activation.pps.outcome, 'accepted');
  t.regex((await again.card.info()).cardId, /^[0-9a-f]{16}$/);
});

socat.test('PPS declined (the card answers without PPS1): the line stays at the default speed and works', async (t) => {
  const pty = await startPtyPair(t);
  const v = await bootVirtualSocket(t, { cardDevice: pty.cardPath, hostDevice: pty.hostPath });
  await v.knobs.send({ kind: 'pps', behaviour: 'default' });
  await v.knobs.readDetect(); // a round trip: the card took it before the reset on the other connection
  const active = await activateHomeCard({ socket: v.socket, baudRate: 115200 });
  t.teardown(() => active.close());
  t.is(active.activation.pps.outcome, 'declined');
  t.is(v.link.baudRate, 115_200);
  t.regex((await active.card.info()).cardId, /^[0-9a-f]{16}$/);
});

socat.test('PPS unanswered: the card is reset again without PPS (§9.3) and works at the default speed', async (t) => {
  const pty = await startPtyPair(t);
  const v = await bootVirtualSocket(t, { cardDevice: pty.cardPath, hostDevice: pty.hostPath, socket: { atrCharacterFloorMs: 100 } });
  await v.knobs.send({ kind: 'pps', behaviour: 'mute' });
  await v.knobs.readDetect(); // a round trip: the card took it before the reset on the other connection
  const active = await activateHomeCard({ socket: v.socket, baudRate: 115200 });
  t.teardown(() => active.close());
  t.is(active.activation.pps.outcome, 'skipped');
  t.regex(active.activation.pps.reason ?? '', /PPS exchange failed/);
  t.is(v.link.baudRate, 115_200);
  t.regex((await active.card.info()).cardId, /^[0-9a-f]{16}$/);
});

test('a PPS answer is judged per §9.3: echo accepted, PPS1 left out declined, anything else failed', (t) => {
  const request = { protocol: 1, ta1: 0x13 };
  t.is(ppsOutcome(request, encodePps(request)), 'accepted');
  t.is(ppsOutcome(request, Buffer.from([0xff, 0x01, 0xfe])), 'declined');
  t.is(ppsOutcome(request, Buffer.from([0xff, 0x11, 0x12, 0xfc])), 'failed');
  t.is(ppsOutcome(request, Buffer.from([0xff, 0x11, 0x13, 0x00])), 'failed');
  t.is(ppsOutcome(request, Buffer.alloc(0)), 'failed');
});

socat.test('an inverse-convention card (TS 3F) is read, negotiates PPS and runs T=1 with its characters converted both ways', async (t) => {
  const pty = await startPtyPair(t);
  const v = await bootVirtualSocket(t, { cardDevice: pty.cardPath, hostDevice: pty.hostPath, args: ['--convention', 'inverse'] });
  const active = await activateHomeCard({ socket: v.socket, baudRate: 115200 });
  t.teardown(() => active.close());
  t.is(active.activation.atr.convention, 'inverse');
  t.is(active.activation.atr.bytes[0], 0x3f);
  t.is(active.activation.pps.outcome, 'accepted');
  t.regex((await active.card.info()).cardId, /^[0-9a-f]{16}$/);
});
