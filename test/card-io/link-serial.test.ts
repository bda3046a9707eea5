import test, { type ExecutionContext } from 'ava';
import { CardErrorCode, isCardError } from '../../card-io/errors.js';
import { openCardSideLink, openLink, serialTransportFactory, type ByteLink } from '../../card-io/link/index.js';
import { needsBinary } from '../helpers/binaries.js';
import { LINK_MODULE_URL, runModuleScript } from '../helpers/exit-probe.js';
import { collectBytes, delay, waitForStatus } from '../helpers/link-probes.js';
import { startPtyPair } from '../helpers/pty.js';
import { runCli, transcript } from '../gateway/cli-process.js';

const socat = needsBinary('socat');
const fast = { backoff: { initialDelayMs: 10, maxDelayMs: 100 } };

/** Opens the host side and the card side of a fresh pty pair and waits until both are connected. */
async function openPair(t: ExecutionContext) {
  const pty = await startPtyPair(t);
  const host = openLink(pty.hostPath, fast);
  const card = openCardSideLink(pty.cardPath, fast);
  t.teardown(() => host.close());
  t.teardown(() => card.close());
  await Promise.all([waitForStatus(host, 'connected'), waitForStatus(card, 'connected')]);
  return { pty, host, card };
}

async function roundTrip(t: ExecutionContext, from: ByteLink, to: ByteLink, bytes: Buffer): Promise<void> {
  const received = collectBytes(to);
  await from.write(bytes);
  t.deepEqual(await received.waitForLength(bytes.length), bytes);
}

socat.test('Bytes written on either serial link of a real pty pair arrive intact on the other, every byte value included', async (t) => {
  const { host, card } = await openPair(t);
  const allValues = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  await roundTrip(t, host, card, allValues);
  await roundTrip(t, card, host, Buffer.from(allValues).reverse());
  // Bytes a tty would interpret in cooked mode: NUL, XON/XOFF, CR, LF, ^C, ^D, DEL.
  await roundTrip(t, host, card, Buffer.from([0x00, 0x11, 0x13, 0x0d, 0x0a, 0x03, 0x04, 0x7f]));
});

socat.test('A 64 KiB write over a real pty pair arrives intact and in order', async (t) => {
  const { host, card } = await openPair(t);
  const big = Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => (i * 31 + (i >> 8)) & 0xff));
  const received = collectBytes(card);
  await host.write(big);
  t.true((await received.waitForLength(big.length, 10_000)).equals(big));
  t.log(`arrived in ${received.chunkCount} chunks`);
});

socat.test(
  'When the serial device vanishes the link reports disconnected, and when it returns on the same path the link reconnects and the next write is ' + 'received',
  async (t) => {
    const { pty, host, card } = await openPair(t);
    const hostStatuses: string[] = [];
    host.onStatus((s) => hostStatuses.push(s));

    const bothDown = Promise.all([waitForStatus(host, 'disconnected'), waitForStatus(card, 'disconnected')]);
    await pty.stop();
    await bothDown;
    const err = await t.throwsAsync(host.write(Buffer.from([0x01])));
    t.true(isCardError(err, CardErrorCode.LinkDisconnected));

    await pty.restart();
    // Both ends must be open again: serialport flushes a tty's buffers when it opens it.
    await Promise.all([waitForStatus(host, 'connected'), waitForStatus(card, 'connected')]);
    await roundTrip(t, host, card, Buffer.from([0x00, 0xc1, 0x01, 0xfe, 0x3e]));
    await roundTrip(t, card, host, Buffer.from([0x00, 0xe1, 0x01, 0xfe, 0x1e]));
    t.deepEqual(hostStatuses, ['disconnected', 'connected']);
  },
);

// Regression: a tty hung up while a read is in flight returns 0 bytes forever, and
// @serialport/bindings-cpp 13 retried that read in a busy loop without ever emitting 'close'.
socat.test('When the device vanishes while the card side is reading a stream of bytes, the card-side link still reports disconnected', async (t) => {
  const { pty, host, card } = await openPair(t);
  let streaming = true;
  // Host to card only, so the card side always has a read in flight. Stops at the first failed write.
  const pump = (async () => {
    const chunk = Buffer.alloc(512, 0x5a);
    try {
      while (streaming) {
        await host.write(chunk);
        await new Promise((resolve) => setImmediate(resolve));
      }
    } catch {
      // the device vanished under the writes
    }
  })();
  await delay(50);
  const bothDown = Promise.all([waitForStatus(host, 'disconnected', 3000), waitForStatus(card, 'disconnected', 3000)]);
  await pty.stop();
  try {
    await bothDown;
  } finally {
    streaming = false;
    await pump;
  }
  t.pass();
});

socat.test('A process with an open serial link on a pty exits by itself after the link is closed', async (t) => {
  const pty = await startPtyPair(t);
  const result = await runModuleScript(`
    import { openLink } from ${JSON.stringify(LINK_MODULE_URL)};
    const link = openLink(${JSON.stringify(pty.hostPath)});
    while (link.status !== 'connected') await new Promise((r) => setTimeout(r, 5));
    await link.write(Buffer.from([1, 2, 3]));
    await link.close();
    console.log(link.status);
  `);
  t.false(result.timedOut, 'the process did not exit: the port or a timer was left open');
  t.is(result.code, 0, result.stderr);
  t.is(result.stdout.trim(), 'closed');
});

socat.test(
  'While a link holds a serial line, a second opener of the same tty fails with LineBusy naming the path, and the first link keeps exchanging ' + 'bytes',
  async (t) => {
    const { pty, host, card } = await openPair(t);
    const second = serialTransportFactory({ path: pty.hostPath });
    const err = await t.throwsAsync(second({ onData: () => undefined, onClose: () => undefined }));
    t.true(isCardError(err, CardErrorCode.LineBusy), String(err));
    t.like((err as unknown as { context: object }).context, { path: pty.hostPath, reason: 'line-busy' });
    t.regex(String((err as Error).message), /line busy/);
    await roundTrip(t, host, card, Buffer.from('still ours'));
    await roundTrip(t, card, host, Buffer.from('and back'));
  },
);

socat.test(
  'A second process opening the tty a link holds (homegate card info) exits 1 at once with a line-busy message, ' + 'and the link keeps working',
  async (t) => {
    const { pty, host, card } = await openPair(t);
    const r = await runCli(['card', 'info', '--device', pty.hostPath], { timeoutMs: 20_000 });
    t.is(r.code, 1, transcript(r));
    t.false(r.timedOut);
    t.regex(r.stderr, /line busy/);
    t.regex(r.stderr, /HG-305/);
    await roundTrip(t, host, card, Buffer.from([0x00, 0xc1, 0x01, 0xfe, 0x3e]));
  },
);

test('Opening a serial path that does not exist fails with LinkOpenFailed naming the path', async (t) => {
  const path = '/dev/homegate-no-such-tty';
  const factory = serialTransportFactory({ path });
  const err = await t.throwsAsync(factory({ onData: () => undefined, onClose: () => undefined }));
  t.true(isCardError(err, CardErrorCode.LinkOpenFailed));
  if (isCardError(err)) t.is(err.context.path, path);
});

test('A serial link whose device is missing stays disconnected and keeps retrying without throwing', async (t) => {
  const link = openLink('/dev/homegate-no-such-tty', fast);
  t.teardown(() => link.close());
  await waitForStatus(link, 'disconnected');
  const err = await t.throwsAsync(link.write(Buffer.from([1])));
  t.true(isCardError(err, CardErrorCode.LinkDisconnected));
});
