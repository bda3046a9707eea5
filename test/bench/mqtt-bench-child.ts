/**
 * Child of mqtt-bench.ts (start-up figure): the gateway's MQTT side as its
 * own process, a notifier (with its outbox) and the dashboard, connecting to
 * the broker given. The password comes on stdin (never argv).
 *
 *   node mqtt-bench-child.js <url> <dataDir>   (stdin: the gateway user's password)
 */
import { silentLogger } from '../../card-io/base/log.js';
import { Dashboard } from '../../gateway/dashboard/dashboard.js';
import { GatewayEvents } from '../../gateway/events/gateway-events.js';
import { GATEWAY_BROKER_USER } from '../../gateway/notify/broker-users.js';
import { createNotifier } from '../../gateway/notify/notifier.js';

if (process.argv[1]?.endsWith('mqtt-bench-child.js')) {
  const [url, dataDir] = process.argv.slice(2);
  let password = '';
  for await (const chunk of process.stdin) password += String(chunk);
  const events = new GatewayEvents();
  const notifier = await createNotifier({ dataDir: dataDir!, events, mqtt: { url: url!, username: GATEWAY_BROKER_USER, password: password.trim() } });
  new Dashboard({
    link: notifier.mqtt!,
    events,
    logger: silentLogger,
    version: 'bench',
    lockCard: async () => 0,
    retryOutbox: () => 0,
  }).start();
}
