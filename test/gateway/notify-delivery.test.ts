/**
 * The notifier's composition and its delivery loop, with an injected channel
 * where the behaviour under test is the loop's own (retry pacing).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { backoffDelay, DeliveryLoop, type DeliveryChannel } from '../../gateway/notify/delivery-loop.js';
import { createNotification, type Notification } from '../../gateway/notify/notification.js';
import { createNotifier } from '../../gateway/notify/notifier.js';
import { isNotifyError } from '../../gateway/notify/notify-error.js';
import { Outbox } from '../../gateway/notify/outbox.js';
import { silentLogger } from '../../card-io/base/log.js';
import { delay, freePort } from '../helpers/link-probes.js';

const CARD = '9999888877776666';

function topup(seq: number): Notification {
  return createNotification({
    type: 'topup',
    cardId: CARD,
    seq,
    terminalId: 'abcdefabcdefabcd',
    mail: 'owner@home.example',
    time: new Date('2025-03-02T08:00:00Z'),
    load: { cardId: CARD, counter: seq, amount: 5000, currency: 'EUR', newBalance: 15000 },
  });
}

async function dataDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'homegate-notify-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('Invalid MQTT and SMTP options are all reported at once', async (t) => {
  const error = await t.throwsAsync(
    createNotifier({
      dataDir: await dataDir(t),
      mqtt: { url: 'http://broker', topicPrefix: 'home/gate', reconnectPeriodMs: 5 },
      smtp: { host: '', from: 'x' },
    }),
  );
  t.true(isNotifyError(error, 'invalid-options'));
  for (const field of ['mqtt.url', 'mqtt.topicPrefix', 'mqtt.reconnectPeriodMs', 'smtp.host', 'smtp.from']) {
    t.true(error!.message.includes(field), field);
  }
});

test('Retry delays double from the initial delay up to the maximum', (t) => {
  const backoff = { initialMs: 100, maxMs: 1000 };
  t.deepEqual(
    [1, 2, 3, 4, 5, 40].map((n) => backoffDelay(n, backoff)),
    [100, 200, 400, 800, 1000, 1000],
  );
});

test('A channel that keeps failing is retried with backoff, not in a busy loop, and nothing is lost', async (t) => {
  const outbox = await Outbox.open({ dataDir: await dataDir(t) });
  const attempts: number[] = [];
  let failing = true;
  const channel: DeliveryChannel = {
    name: 'smtp',
    concurrency: 1,
    isReady: () => true,
    onReady: () => () => undefined,
    async send() {
      attempts.push(Date.now());
      if (failing) throw new Error('451 try again later');
    },
  };
  const loop = new DeliveryLoop(outbox, channel, { initialMs: 50, maxMs: 200 }, silentLogger);
  t.teardown(() => loop.stop());
  loop.start();
  await outbox.enqueue(topup(1), ['smtp']);
  await delay(700);
  t.true(attempts.length >= 3 && attempts.length <= 7, `${attempts.length} attempts in 700 ms`);
  t.is(outbox.size, 1);
  failing = false;
  while (outbox.size > 0) await delay(20);
  t.true(outbox.isDelivered(topup(1).id));
});

test('notify() resolves while no broker is reachable; flush() then gives up with a typed error; stop() keeps the outbox', async (t) => {
  const dir = await dataDir(t);
  const notifier = await createNotifier({ dataDir: dir, mqtt: { url: `mqtt://127.0.0.1:${await freePort()}`, reconnectPeriodMs: 100 } });
  await notifier.notify(topup(2));
  t.deepEqual(notifier.channels, ['mqtt']);
  t.deepEqual(
    notifier.entries().map((e) => [e.notification.id, e.pending]),
    [[topup(2).id, ['mqtt']]],
  );
  const error = await t.throwsAsync(notifier.flush(300));
  t.true(isNotifyError(error, 'flush-timeout'));
  await notifier.stop();
  t.true(isNotifyError(await t.throwsAsync(notifier.notify(topup(3))), 'stopped'));
  const reopened = await Outbox.open({ dataDir: dir });
  t.is(reopened.size, 1);
});
