import net from 'node:net';
import test from 'ava';
import mqtt from 'mqtt';
import { startEmbeddedBroker } from '../../gateway/notify/embedded-broker.js';
import { isNotifyError } from '../../gateway/notify/notify-error.js';

test('A taken port for the embedded broker is a typed error that names the port and the way out', async (t) => {
  const squatter = net.createServer();
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', () => resolve()));
  t.teardown(() => new Promise<void>((resolve) => squatter.close(() => resolve())));
  const { port } = squatter.address() as net.AddressInfo;
  const error = await t.throwsAsync(startEmbeddedBroker({ port }));
  if (!isNotifyError(error, 'broker-port-in-use')) return t.fail(`not the typed error: ${String(error)}`);
  t.deepEqual(error.context, { host: '127.0.0.1', port });
  t.true(error.message.includes(`Port ${port}`));
  t.true(error.message.includes('--mqtt-port'));
  t.true(error.message.includes('--mqtt <URL>'));
});

test('The embedded broker stops with clients still connected, and frees its port', async (t) => {
  const broker = await startEmbeddedBroker({ port: 0 });
  const client = mqtt.connect(broker.url, { reconnectPeriod: 0 });
  t.teardown(() => client.endAsync(true));
  await new Promise<void>((resolve) => client.once('connect', () => resolve()));
  await broker.stop();
  await broker.stop(); // twice is fine
  const again = await startEmbeddedBroker({ port: broker.port });
  t.is(again.port, broker.port);
  await again.stop();
});
