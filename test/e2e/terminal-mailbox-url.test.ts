/**
 * Where a terminal is told to read its mail. With the shipped Mosquitto the
 * gateway publishes on the board's loopback listener (mqtt://127.0.0.1:1883)
 * while terminals must use the TLS listener on the LAN: `mqtt.terminalUrl`
 * is what they are given (GET /v1/whoami, and the pairing answer, which
 * shares it), the gateway's own `url` only when none is set.
 */
import test from 'ava';
import { startPurseHousehold } from '../helpers/household/index.js';

test('a terminal is given mqtt.terminalUrl to read its mail, not the broker URL the gateway itself uses', async (t) => {
  const h = await startPurseHousehold(t, {
    configure: (c) => {
      c.mqtt = { ...c.mqtt!, terminalUrl: 'mqtts://gateway.local:8883' };
    },
  });
  const access = await h.accessCard();
  t.teardown(() => access.close());
  const who = (await access.gateway.get('/v1/whoami')) as { mailbox?: { url: string; topicPrefix: string } };
  t.deepEqual(who.mailbox, { url: 'mqtts://gateway.local:8883', topicPrefix: 'homegate' });
});

test('without mqtt.terminalUrl a terminal is given the broker URL the gateway uses', async (t) => {
  const h = await startPurseHousehold(t);
  const access = await h.accessCard();
  t.teardown(() => access.close());
  const who = (await access.gateway.get('/v1/whoami')) as { mailbox?: { url: string } };
  t.is(who.mailbox?.url, h.mqttUrl);
});
