import net from 'node:net';
import test from 'ava';
import { CardErrorCode, isCardError } from '../../card-io/errors.js';
import { openCardSideLink, openLink, tcpClientTransportFactory, type ByteLink } from '../../card-io/link/index.js';
import { LINK_MODULE_URL, runModuleScript } from '../helpers/exit-probe.js';
import { capturingLogger, collectBytes, delay, freePort, waitForStatus } from '../helpers/link-probes.js';

const fast = { backoff: { initialDelayMs: 10, maxDelayMs: 100 } };

function track<T extends ByteLink>(t: { teardown(fn: () => Promise<void>): void }, link: T): T {
  t.teardown(() => link.close());
  return link;
}

test('Bytes round-trip between a TCP client link and a card-side listening link, in both directions', async (t) => {
  const port = await freePort();
  const card = track(t, openCardSideLink(`tcp://127.0.0.1:${port}`, fast));
  const host = track(t, openLink(`tcp://127.0.0.1:${port}`, fast));
  const atCard = collectBytes(card);
  const atHost = collectBytes(host);
  await Promise.all([waitForStatus(card, 'connected'), waitForStatus(host, 'connected')]);

  await host.write(Buffer.from([0x00, 0x00, 0x05, 0x00, 0xa4, 0x04, 0x00, 0x00, 0xa5]));
  t.deepEqual(await atCard.waitForLength(9), Buffer.from([0x00, 0x00, 0x05, 0x00, 0xa4, 0x04, 0x00, 0x00, 0xa5]));
  await card.write(Buffer.from([0x00, 0x00, 0x02, 0x90, 0x00, 0x92]));
  t.deepEqual(await atHost.waitForLength(6), Buffer.from([0x00, 0x00, 0x02, 0x90, 0x00, 0x92]));

  const big = Buffer.alloc(64 * 1024, 0).map((_, i) => (i * 31 + 7) & 0xff);
  await host.write(big);
  t.deepEqual((await atCard.waitForLength(9 + big.length)).subarray(9), Buffer.from(big));
});

test('When the TCP server restarts on the same port, the client link reports disconnected, then connected, and the next write is received', async (t) => {
  const port = await freePort();
  const address = `tcp://127.0.0.1:${port}`;
  const host = track(t, openLink(address, fast));
  const first = openCardSideLink(address, fast);
  await Promise.all([waitForStatus(first, 'connected'), waitForStatus(host, 'connected')]);
  const hostStatuses: string[] = [];
  host.onStatus((s) => hostStatuses.push(s));

  const hostDown = waitForStatus(host, 'disconnected');
  await first.close();
  await hostDown;
  const writeWhileDown = await t.throwsAsync(host.write(Buffer.from([1])));
  t.true(isCardError(writeWhileDown, CardErrorCode.LinkDisconnected));

  await delay(150); // a few failed reconnects while nothing listens
  const second = track(t, openCardSideLink(address, fast));
  const atSecond = collectBytes(second);
  await Promise.all([waitForStatus(second, 'connected'), waitForStatus(host, 'connected')]);
  await host.write(Buffer.from([0x42, 0x43]));
  t.deepEqual(await atSecond.waitForLength(2), Buffer.from([0x42, 0x43]));
  t.deepEqual(hostStatuses, ['disconnected', 'connected']);
});

test(
  'While a host is attached to the card-side listener, a second connection is closed at once with a log line and the first keeps exchanging ' + 'bytes',
  async (t) => {
    const port = await freePort();
    const logs = capturingLogger();
    const card = track(t, openCardSideLink(`tcp://127.0.0.1:${port}`, { ...fast, logger: logs }));
    const received = collectBytes(card);
    const a = await connect(port);
    t.teardown(() => void a.destroy());
    await waitForStatus(card, 'connected');

    const b = await connect(port);
    b.on('error', () => undefined);
    const bGot: Buffer[] = [];
    b.on('data', (c: Buffer) => bGot.push(c));
    await new Promise<void>((resolve) => b.once('close', () => resolve()));
    t.deepEqual(bGot, [], 'the refused host received nothing');
    t.true(
      logs.records.some((r) => r.msg?.includes('line busy') === true),
      'the refusal is logged',
    );

    a.write(Buffer.from('from a'));
    t.is((await received.waitForLength(6)).toString(), 'from a');
    await card.write(Buffer.from('to a'));
    t.is((await readBytes(a, 4)).toString(), 'to a');
    t.is(card.status, 'connected');
  },
);

test('When the attached host disconnects, the next host is accepted', async (t) => {
  const port = await freePort();
  const card = track(t, openCardSideLink(`tcp://127.0.0.1:${port}`, fast));
  const received = collectBytes(card);
  const a = await connect(port);
  await waitForStatus(card, 'connected');
  a.destroy();
  await waitForStatus(card, 'disconnected');
  const b = await connect(port);
  t.teardown(() => void b.destroy());
  await waitForStatus(card, 'connected');
  b.write(Buffer.from('from b'));
  t.is((await received.waitForLength(6)).toString(), 'from b');
});

test('Connecting where nothing listens fails with LinkOpenFailed naming the address', async (t) => {
  const port = await freePort();
  const factory = tcpClientTransportFactory({ host: '127.0.0.1', port });
  const err = await t.throwsAsync(factory({ onData: () => undefined, onClose: () => undefined }));
  t.true(isCardError(err, CardErrorCode.LinkOpenFailed));
  if (isCardError(err)) {
    t.is(err.context.address, `tcp://127.0.0.1:${port}`);
    t.is(err.context.reason, 'ECONNREFUSED');
  }
});

test('A process with a TCP client link retrying and a card-side listener exits by itself after both are closed', async (t) => {
  const [refused, served] = [await freePort(), await freePort()];
  const result = await runModuleScript(`
    import { openLink, openCardSideLink } from ${JSON.stringify(LINK_MODULE_URL)};
    const backoff = { initialDelayMs: 5, maxDelayMs: 20 };
    const client = openLink('tcp://127.0.0.1:${refused}', { backoff });
    const card = openCardSideLink('tcp://127.0.0.1:${served}', { backoff });
    const peer = openLink('tcp://127.0.0.1:${served}', { backoff });
    while (peer.status !== 'connected' || card.status !== 'connected') await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 100));
    await Promise.all([client.close(), card.close(), peer.close()]);
    console.log('closed', client.status, card.status, peer.status);
  `);
  t.false(result.timedOut, 'the process did not exit: a timer or socket was left behind');
  t.is(result.code, 0, result.stderr);
  t.is(result.stdout.trim(), 'closed closed closed closed');
});

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
}

function readBytes(socket: net.Socket, length: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let total = 0;
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      total += c.length;
      if (total >= length) resolve(Buffer.concat(chunks).subarray(0, length));
    });
  });
}
