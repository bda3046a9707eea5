/**
 * The dashboard's `state` follows the card in its socket (card.socket
 * virtual, the emulator's control channel, as `homegate sandbox` runs it):
 * pulled → absent, inserted → present then locked once activated, with the
 * card's id back; and the `events` topic carries card-removed and
 * card-inserted; and the PIN tries are the card's own counters from the start
 * and after each insertion, read without presenting any PIN. The household
 * runs the embedded broker with the shipped ACL, the dashboard logs in as the
 * dashboard user.
 */
import { join } from 'node:path';
import test from 'ava';
import mqtt from 'mqtt';
import type { DashboardStateJson } from '../../gateway/dashboard/dashboard-state.js';
import { BROKER_USERS_FILE, generateBrokerPassword, setBrokerUser } from '../../gateway/notify/broker-users.js';
import { DASHBOARD_USER, record } from '../helpers/dashboard-rig.js';
import { DEMO_PINS, startPurseHousehold } from '../helpers/household/index.js';

const STATE = 'homegate/gateway/state';
const EVENTS = 'homegate/gateway/events';

test('the state follows the card pulled from and inserted into its socket, and events announce both', async (t) => {
  const h = await startPurseHousehold(t, { socket: true });
  const password = generateBrokerPassword();
  await setBrokerUser(join(h.dataDir, BROKER_USERS_FILE), { username: DASHBOARD_USER, password });
  const client = await mqtt.connectAsync(h.mqttUrl, { username: DASHBOARD_USER, password, clientId: 'dashboard-socket', reconnectPeriod: 0 });
  t.teardown(() => client.endAsync(true));
  const view = await record(client, [STATE, EVENTS]);
  const state = () => {
    const s = view.last(STATE);
    return s ? (JSON.parse(s) as DashboardStateJson) : undefined;
  };
  const person = h.inProcess!.socketPerson!;
  await view.until(() => state()?.card.state === 'locked', 'the activated card in its socket', 15_000);
  t.is(state()!.card.id, h.cardId);
  await view.until(() => state()?.card.pin1TriesLeft === 3 && state()?.card.pin2TriesLeft === 3, 'the tries the card counts, before any PIN');

  await person.remove();
  await view.until(() => state()?.card.state === 'absent', 'absent after the card was pulled');
  t.like(state()!.card, { present: false, activated: false, id: null });
  t.true(view.messages.some((m) => m.topic === EVENTS && m.payload.includes('"event":"card-removed"') && m.payload.includes('"reason":"pulled"')));

  // A wrong PIN1 while the card is out of the gateway's sight would not be seen; here one is made before,
  // and the counter read at the next insertion is the card's.
  await person.insert();
  await view.until(() => state()?.card.state === 'locked', 'locked again once the inserted card is activated', 15_000);
  const wrong = await h.accessCard(async (which) => (which === 'PIN1' ? '0000' : DEMO_PINS.pin2));
  await t.throwsAsync(wrong.unlock());
  await view.until(() => state()?.card.pin1TriesLeft === 2, 'a wrong PIN1');
  await person.remove();
  await view.until(() => state()?.card.state === 'absent', 'pulled again');
  await person.insert();
  await view.until(() => state()?.card.state === 'locked' && state()?.card.pin1TriesLeft === 2, 'the counter read back at insertion', 15_000);
  t.like(state()!.card, { present: true, activated: true, id: h.cardId });
  t.true(view.messages.some((m) => m.topic === EVENTS && m.payload.includes('"event":"card-inserted"')));
});
