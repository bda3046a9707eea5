/**
 * The gateway's peers for the split benchmark household, in a process of
 * their own so that their CPU and memory are not the gateway's: the sandbox
 * market and the embedded MQTT broker (with the sandbox's users and ACL),
 * from a data directory `homegate sandbox --once` prepared.
 *
 *   node dist/test/bench/bench-peers.js <dataDir> <marketPort> <mqttPort>
 *
 * stdout, one JSON line each: `{"event":"ready",...}` once both listen, then
 * `{"event":"availability","payload":"online","at":<unix ms>}` whenever the
 * gateway publishes its availability (the start-up figure to `online`).
 * Stops on SIGTERM.
 */
import { join } from 'node:path';
import { silentLogger } from '../../card-io/base/log.js';
import { loadOrCreateMarketPki } from '../../deploy/sandbox/market-pki.js';
import { startSandboxMarket } from '../../deploy/sandbox/market/index.js';
import { prepareSandboxCard } from '../../deploy/sandbox/household/sandbox-card.js';
import { dataPath } from '../../gateway/config/gateway-config.js';
import { BROKER_USERS_FILE } from '../../gateway/notify/broker-users.js';
import { startEmbeddedBroker } from '../../gateway/notify/embedded-broker.js';
import { DEFAULT_TOPIC_PREFIX } from '../../gateway/notify/mqtt-options.js';

const [dataDir, marketPort, mqttPort] = process.argv.slice(2);
if (!dataDir || !marketPort || !mqttPort) throw new Error('usage: bench-peers.js <dataDir> <marketPort> <mqttPort>');

const line = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
const files = await prepareSandboxCard(dataDir);
const pki = await loadOrCreateMarketPki(join(dataDir, 'sandbox', 'market'));
const market = await startSandboxMarket({
  port: Number(marketPort),
  serverCert: pki.serverCertificate,
  serverKey: pki.serverKey,
  clientCa: files.issuer.certificate,
  signer: { certificate: pki.signingCertificate, privateKey: pki.signingKey },
});
const broker = await startEmbeddedBroker({
  port: Number(mqttPort),
  logger: silentLogger,
  passwordFile: dataPath(dataDir, BROKER_USERS_FILE),
  topicPrefix: DEFAULT_TOPIC_PREFIX,
});
const availability = `${DEFAULT_TOPIC_PREFIX}/gateway/availability`;
broker.aedes.on('publish', (packet, client) => {
  if (client && packet.topic === availability) line({ event: 'availability', payload: packet.payload.toString('utf8'), at: Date.now() });
});
line({ event: 'ready', market: market.url, mqtt: broker.url });
process.once('SIGTERM', () => {
  void Promise.all([market.stop(), broker.stop()]).then(() => process.exit(0));
});
