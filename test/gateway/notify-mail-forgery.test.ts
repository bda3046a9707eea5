/**
 * Forged mail on a broker that lets the forger publish (an open embedded
 * broker, an anonymous Mosquitto: a broken ACL or a stolen gateway login),
 * read with the terminal's own readMailbox: only what the card signed is
 * shown, and a forgery sent first under a real mail's id does not hide it.
 */
import test, { type ExecutionContext } from 'ava';
import mqtt from 'mqtt';
import { isMailboxError, readMailbox } from '../../card-io/access-card/mailbox.js';
import { startEmbeddedBroker } from '../../gateway/notify/embedded-broker.js';
import { serializeNotification } from '../../gateway/notify/notification.js';
import { needsBinary, type RegisterTest } from '../helpers/binaries.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { signingCard } from '../helpers/signed-mail.js';

const ME = '00112233aabbccdd';
const TOPIC = `homegate/terminals/${ME}/mail`;

const brokers: Array<[string, RegisterTest, (t: ExecutionContext) => Promise<string>]> = [
  [
    'embedded broker',
    test,
    async (t) => {
      const b = await startEmbeddedBroker({ port: 0 });
      t.teardown(() => b.stop());
      return b.url;
    },
  ],
  [
    'Mosquitto',
    needsBinary('mosquitto').test,
    async (t) => {
      const m = await startMosquitto();
      t.teardown(() => m.dispose());
      return m.url;
    },
  ],
];

async function publishAll(url: string, payloads: string[]): Promise<void> {
  const client = await mqtt.connectAsync(url, { clientId: 'forger', reconnectPeriod: 0 });
  try {
    for (const p of payloads) await client.publishAsync(TOPIC, p, { qos: 1 });
  } finally {
    await client.endAsync();
  }
}

for (const [name, register, start] of brokers) {
  register(`${name}: When forged mail arrives before the real one under its id, only the card-signed mail is shown, once`, async (t) => {
    const url = await start(t);
    const card = await signingCard();
    const forger = await signingCard(card.cardId);
    const real = card.decision(4, ME);
    const realJson = JSON.parse(serializeNotification(real)) as Record<string, unknown>;
    const record = realJson.record as Record<string, unknown>;
    const forgeries = [
      { ...realJson, signedRecord: undefined }, // unsigned, same id
      JSON.parse(serializeNotification(forger.decision(4, ME, { amount: 99_999 }))), // another key, same id
      { ...realJson, record: { ...record, amount: 99_999 } }, // the real signature, another amount
      { ...realJson, record: { ...record, market: 'evil.example' } },
      { ...realJson, type: 'cancel', id: `${card.cardId}:cancel:4` }, // the decision passed off as a cancel
    ].map((f) => JSON.stringify(f));
    await readMailbox({ url, terminalId: ME, idleMs: 100, cardCertificate: card.certificate }); // the persistent session
    await publishAll(url, [...forgeries, serializeNotification(real), serializeNotification(real), 'not json']);

    const read = await readMailbox({ url, terminalId: ME, idleMs: 400, cardCertificate: card.certificate });
    t.deepEqual(
      read.messages.map((m) => m.id),
      [real.id],
    );
    t.deepEqual((read.messages[0]!.notification.record as Record<string, unknown>).amount, real.record!.amount);
    t.is(read.rejected, forgeries.length);
    t.is(read.duplicates, 1);
    t.is(read.malformed, 1);
  });
}

test('When the profile has no card certificate to verify with, the mailbox is not read at all', async (t) => {
  const e = await t.throwsAsync(readMailbox({ url: 'mqtt://127.0.0.1:1', terminalId: ME, cardCertificate: '' }));
  t.true(isMailboxError(e, 'no-card-certificate'), e?.message);
});
