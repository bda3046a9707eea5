import test from 'ava';
import { type CardError, CardErrorCode, isCardError } from '../../card-io/errors.js';
import { ReconnectingLink, backoffDelay, resolveBackoff, type LinkStatus } from '../../card-io/link/index.js';
import { fakeFactory, recordingScheduler } from '../helpers/fake-transport.js';
import { capturingLogger, collectBytes, waitForStatus } from '../helpers/link-probes.js';

const noJitter = (): number => 0;

test('While opens keep failing, reopen delays double from initialDelayMs and are capped at maxDelayMs, then the link connects', async (t) => {
  const fake = fakeFactory(8);
  const { schedule, delays } = recordingScheduler();
  const link = new ReconnectingLink({ factory: fake.factory, address: 'fake', schedule, random: noJitter });
  t.teardown(() => link.close());
  await waitForStatus(link, 'connected');
  t.deepEqual(delays, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
  t.is(fake.attempts, 9);
});

test('Jitter only shortens a delay, by at most the jitter fraction, so the cap is never exceeded', (t) => {
  const backoff = resolveBackoff({ initialDelayMs: 50, maxDelayMs: 1000, factor: 3, jitter: 0.5 });
  const almostOne = (): number => 0.999999;
  t.deepEqual(
    [0, 1, 2, 3, 4].map((n) => backoffDelay(n, backoff, noJitter)),
    [50, 150, 450, 1000, 1000],
  );
  t.deepEqual(
    [0, 1, 2, 3, 4].map((n) => backoffDelay(n, backoff, almostOne)),
    [25, 75, 225, 500, 500],
  );
  t.is(backoffDelay(100_000, backoff, Math.random) <= 1000, true);
});

test('After a successful connection is lost, the backoff starts again from initialDelayMs', async (t) => {
  const fake = fakeFactory(3);
  const { schedule, delays } = recordingScheduler();
  const link = new ReconnectingLink({ factory: fake.factory, address: 'fake', schedule, random: noJitter });
  t.teardown(() => link.close());
  await waitForStatus(link, 'connected');
  fake.failNext(2);
  fake.transports[0]!.drop();
  t.is(link.status, 'disconnected');
  await waitForStatus(link, 'connected');
  t.deepEqual(delays, [100, 200, 400, 100, 200, 400]);
});

test('Status goes connecting, connected, disconnected, connected when a transport ends and the next one opens', async (t) => {
  const fake = fakeFactory(0);
  const { schedule } = recordingScheduler();
  const link = new ReconnectingLink({ factory: fake.factory, address: 'fake', schedule });
  const seen: LinkStatus[] = [link.status];
  link.onStatus((s) => seen.push(s));
  await waitForStatus(link, 'connected');
  fake.transports[0]!.drop();
  await waitForStatus(link, 'connected');
  await link.close();
  t.deepEqual(seen, ['connecting', 'connected', 'disconnected', 'connected', 'closed']);
  t.true(fake.transports.every((tr) => tr.closed));
});

test('Invalid backoff options are all reported at once in one CardError', (t) => {
  const err = t.throws(() => resolveBackoff({ initialDelayMs: 0, maxDelayMs: -1, factor: 0.5, jitter: 2 }));
  t.true(isCardError(err, CardErrorCode.InvalidArgument));
  t.deepEqual((err as CardError).context.errors, [
    'initialDelayMs must be in 1..60000, got 0',
    'maxDelayMs must be in 1..3600000, got -1',
    'factor must be in 1..10, got 0.5',
    'jitter must be in 0..1, got 2',
  ]);
});

test('A write while the link is connecting or disconnected rejects with LinkDisconnected, and after close() with LinkClosed', async (t) => {
  const fake = fakeFactory(Infinity);
  const { schedule } = recordingScheduler();
  const link = new ReconnectingLink({ factory: fake.factory, address: 'fake', schedule });
  t.is(link.status, 'connecting');
  const whileConnecting = await t.throwsAsync(link.write(Buffer.from([1])));
  t.true(isCardError(whileConnecting, CardErrorCode.LinkDisconnected));
  await waitForStatus(link, 'disconnected');
  const whileDisconnected = await t.throwsAsync(link.write(Buffer.from([1])));
  t.true(isCardError(whileDisconnected, CardErrorCode.LinkDisconnected));
  await link.close();
  const afterClose = await t.throwsAsync(link.write(Buffer.from([1])));
  t.true(isCardError(afterClose, CardErrorCode.LinkClosed));
  t.is(link.status, 'closed');
});

test('A data listener that throws is logged and neither stops the other listeners nor the link', async (t) => {
  const fake = fakeFactory(0);
  const logger = capturingLogger();
  const link = new ReconnectingLink({ factory: fake.factory, address: 'fake', logger });
  t.teardown(() => link.close());
  link.onData(() => {
    throw new Error('listener bug');
  });
  const received = collectBytes(link);
  await waitForStatus(link, 'connected');
  fake.transports[0]!.deliver(Buffer.from([0xa0, 0xa1]));
  t.deepEqual(await received.waitForLength(2), Buffer.from([0xa0, 0xa1]));
  t.is(link.status, 'connected');
  t.true(logger.records.some((r) => r.level === 'error' && r.msg === 'data listener threw'));
});

test('Status changes are logged as structured records carrying the link address', async (t) => {
  const fake = fakeFactory(1);
  const logger = capturingLogger();
  const { schedule } = recordingScheduler();
  const link = new ReconnectingLink({ factory: fake.factory, address: 'fake', logger, schedule, random: noJitter });
  await waitForStatus(link, 'connected');
  await link.close();
  const changes = logger.records.filter((r) => r.fields.status !== undefined).map((r) => [r.level, r.fields.status]);
  t.deepEqual(changes, [
    ['info', 'connecting'],
    ['warn', 'disconnected'],
    ['info', 'connected'],
    ['info', 'closed'],
  ]);
  t.true(logger.records.every((r) => r.fields.link === 'fake'));
  t.true(logger.records.some((r) => r.msg === 'link reopen scheduled' && r.fields.delayMs === 100));
});

test('Bytes are hex-dumped with their direction only when traceBytes is set and trace is enabled', async (t) => {
  const run = async (traceBytes: boolean, traceOn: boolean): Promise<string[]> => {
    const fake = fakeFactory(0);
    const logger = capturingLogger((level) => level !== 'trace' || traceOn);
    const link = new ReconnectingLink({ factory: fake.factory, address: 'fake', logger, traceBytes });
    await waitForStatus(link, 'connected');
    await link.write(Buffer.from([0x00, 0xc1, 0x01, 0xfe]));
    fake.transports[0]!.deliver(Buffer.from([0xe1, 0x00]));
    await link.close();
    return logger.records.filter((r) => r.level === 'trace').map((r) => `${String(r.fields.direction)} ${String(r.fields.hex)}`);
  };
  t.deepEqual(await run(true, true), ['out 00 c1 01 fe', 'in e1 00']);
  t.deepEqual(await run(true, false), []);
  t.deepEqual(await run(false, true), []);
});

// Serial: ava runs serial tests before the concurrent ones, so no other test's timer is counted.
test.serial('close() while reopening stops the retries and leaves no timer behind', async (t) => {
  const timersBefore = activeTimers();
  const fake = fakeFactory(Infinity);
  const link = new ReconnectingLink({ factory: fake.factory, address: 'fake', backoff: { initialDelayMs: 5, maxDelayMs: 20 } });
  while (fake.attempts < 4) await new Promise((resolve) => setTimeout(resolve, 5));
  await link.close();
  const attemptsAtClose = fake.attempts;
  t.is(activeTimers(), timersBefore);
  await new Promise((resolve) => setTimeout(resolve, 60));
  t.is(fake.attempts, attemptsAtClose);
});

function activeTimers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}
