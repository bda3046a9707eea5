/**
 * MQTT keeps QoS 1 messages only for a session that exists (MQTT 3.1.1
 * §3.1.2.4): a terminal's first mailbox read would miss everything mailed
 * before it. So when a terminal is enrolled (and when the sandbox starts its
 * fresh in-memory broker) the gateway opens the terminal's persistent session
 * once, subscribes, and leaves before anything could be queued. It logs in
 * as the terminal (the login enrollment just generated, or the sandbox's
 * profile): brokers tie a mailbox's client id to its user, so no other login,
 * the gateway's included, can open that session.
 */
import { connectAsync } from 'mqtt';
import { mailboxClientId } from '../../card-io/access-card/mailbox.js';
import { mailTopic } from './mqtt-notifier.js';

export async function primeMailbox(o: { url: string; terminalId: string; topicPrefix: string; username?: string; password?: string }): Promise<void> {
  const client = await connectAsync(o.url, {
    clientId: mailboxClientId(o.terminalId),
    clean: false,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...(o.username ? { username: o.username, password: o.password } : {}),
  });
  try {
    await client.subscribeAsync(mailTopic(o.topicPrefix, o.terminalId), { qos: 1 });
  } finally {
    await client.endAsync();
  }
}
