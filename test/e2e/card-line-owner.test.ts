/**
 * One owner of the card line: while the gateway is connected to the card (the
 * emulator as a separate process), a second program on the same line is
 * refused and the gateway's exchanges with the card go on undisturbed.
 */
import net from 'node:net';
import test from 'ava';
import { connectHomeCard } from '../../card-io/home-card/connect.js';
import { needsBinary } from '../helpers/binaries.js';
import { MARKET, startHousehold } from '../helpers/household/index.js';
import { runCli, transcript } from '../gateway/cli-process.js';

const socat = needsBinary('socat');

test.serial(
  "A second TCP client on the emulator's card line is closed without receiving a byte, " + "and the gateway's card exchanges keep working",
  async (t) => {
    const h = await startHousehold(t);
    const { hostname, port } = new URL(h.cardDevice);
    const access = await h.accessCard();
    await access.unlock();

    const intruder = net.connect({ host: hostname, port: Number(port) });
    intruder.on('error', () => undefined);
    const got: Buffer[] = [];
    intruder.on('data', (c: Buffer) => got.push(c));
    // An S(RESYNCH) request, as a second host would start: it must not reach the card.
    intruder.on('connect', () => intruder.write(Buffer.from([0x00, 0xc0, 0x00, 0xc0])));
    await new Promise<void>((resolve) => intruder.once('close', () => resolve()));
    t.deepEqual(got, []);

    t.true(await access.isUnlocked(), "the gateway's card session survived");
    t.true((await access.authorize(MARKET)).session.length > 0);
    t.is(h.gateway.cards.status, 'present');
  },
);

test.serial('"homegate card info" on the gateway\'s TCP card line while the gateway runs fails in bounded time, and the gateway keeps the card', async (t) => {
  const h = await startHousehold(t);
  const access = await h.accessCard();
  await access.unlock();
  const r = await runCli(['card', 'info', '--device', h.cardDevice], { timeoutMs: 30_000 });
  t.false(r.timedOut, transcript(r));
  t.is(r.code, 1, transcript(r));
  t.false(r.stdout.includes('cardId'), 'it read nothing from the card');
  t.true((await access.authorize(MARKET)).session.length > 0);
});

socat.test(
  '"homegate card info" on the gateway\'s tty while the gateway runs exits 1 at once with a line-busy message, ' + 'and the gateway keeps the card',
  async (t) => {
    const h = await startHousehold(t, { line: 'pty' });
    const access = await h.accessCard();
    await access.unlock();
    const r = await runCli(['card', 'info', '--device', h.cardDevice], { timeoutMs: 20_000 });
    t.is(r.code, 1, transcript(r));
    t.regex(r.stderr, /line busy/);
    t.true((await access.authorize(MARKET)).session.length > 0);
  },
);

test.serial(
  'A host that connects while the previous host is still leaving the TCP card line gets the card once the line is free, within its open ' + 'timeout',
  async (t) => {
    const h = await startHousehold(t);
    const { hostname, port } = new URL(h.cardDevice);
    // Stand-in for a host that is still attached (a killed gateway whose FIN is on its way): hold the line, leave shortly.
    await h.gateway.stop();
    const holder = net.connect({ host: hostname, port: Number(port) });
    holder.on('error', () => undefined);
    await new Promise<void>((resolve) => holder.once('connect', () => resolve()));
    setTimeout(() => holder.end(), 300);
    const conn = await connectHomeCard({ device: h.cardDevice, openTimeoutMs: 10_000 });
    t.teardown(() => conn.close());
    t.truthy((await conn.card.select()).cardId, 'the second host speaks to the card');
  },
);
