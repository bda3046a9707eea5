/**
 * The gateway's MQTT connection options from gateway.json's `mqtt` section
 * and the files it names: the password (`passwordFile`) and the TLS key
 * (`keyFile`) read as secret files (0600, card-io/base/durable/secret-file.ts),
 * the CA and client certificate as they are. One reader for the notifier
 * and `homegate gateway decommission`.
 */
import { readFile } from 'node:fs/promises';
import { readSecretFile } from '../../card-io/base/durable/secret-file.js';
import { dataPath } from '../config/gateway-config.js';
import { mqttOptionsFromConfig, type MqttConfig, type MqttNotifierOptions } from './mqtt-options.js';

export async function readMqttConnection(dataDir: string, m: MqttConfig): Promise<MqttNotifierOptions> {
  const read = async (f: string | undefined) => (f ? readFile(dataPath(dataDir, f), 'utf8') : undefined);
  const secret = async (f: string | undefined) => (f ? (await readSecretFile(dataPath(dataDir, f))).toString('utf8') : undefined);
  const [ca, cert, key, password] = await Promise.all([read(m.caFile), read(m.certFile), secret(m.keyFile), secret(m.passwordFile)]);
  const tls = { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
  return mqttOptionsFromConfig(m, password?.trim(), tls);
}
