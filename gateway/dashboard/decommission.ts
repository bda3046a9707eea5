/**
 * Takes the gateway off the dashboards (`homegate gateway decommission`):
 * empty retained payloads on the Home Assistant discovery topic (HA removes
 * the device and its entities), on `state`, `status` and `availability`
 * (MQTT 3.1.1 §3.3.1.3: a retained message with no payload clears the
 * retained one). Run it with the gateway stopped: it logs in as the gateway's
 * user, and the shipped Mosquitto makes the client id the user name, so a
 * running gateway would be thrown off (and its Last Will would put
 * `offline` back).
 */
import tls from 'node:tls';
import mqtt from 'mqtt';
import { NotifyError } from '../notify/notify-error.js';
import { dashboardTopics } from './dashboard-topics.js';

export interface DecommissionOptions {
  url: string;
  clientId: string;
  username?: string;
  password?: string;
  topicPrefix: string;
  discoveryPrefix: string;
  ca?: string;
  cert?: string;
  key?: string;
  connectTimeoutMs?: number;
}

/** Resolves with the topics cleared, once the broker acknowledged each; NotifyError('broker-unreachable') otherwise. */
export async function decommissionDashboard(o: DecommissionOptions): Promise<string[]> {
  const topics = dashboardTopics(o.topicPrefix, o.discoveryPrefix);
  const cleared = [topics.discovery, topics.state, `${o.topicPrefix}/gateway/status`, topics.availability];
  const client = mqtt.connect(o.url, {
    clientId: o.clientId,
    username: o.username,
    password: o.password,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: o.connectTimeoutMs ?? 10_000,
    ...(o.ca ? { ca: [...tls.rootCertificates, o.ca] } : {}),
    ...(o.cert && o.key ? { cert: o.cert, key: o.key } : {}),
  });
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
      client.once('close', () => reject(new Error('connection closed')));
    });
    for (const topic of cleared) await client.publishAsync(topic, Buffer.alloc(0), { qos: 1, retain: true });
    await client.endAsync();
    return cleared;
  } catch (e) {
    await client.endAsync(true).catch(() => undefined);
    throw new NotifyError('broker-unreachable', `Could not clear the gateway's retained topics on the broker: ${(e as Error).message}`, {}, { cause: e });
  }
}
