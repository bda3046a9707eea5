/**
 * The home card vanishing in the middle of an authorization, end to end: the
 * card emulator process is killed (SIGKILL, the closest a process comes to
 * losing power) while the gateway works for a terminal, then started again on
 * the same image and TCP line.
 */
import test from 'ava';
import { marketRequest } from '../../card-io/access-card/market-request.js';
import { MARKET, eventually, gatewayRequest, refusalOf, startHousehold, normName } from '../helpers/household/index.js';

test.serial(
  'When the card emulator is killed while the gateway authorizes, the terminal gets card-absent; restarted on the same image and port, the card is ' +
    'found again and, unlocked again, authorizes',
  async (t) => {
    // A command timeout far above what the test allows: the terminal must learn of the loss from the line itself.
    const h = await startHousehold(t, { card: { commandTimeoutMs: 30_000 } });
    const access = await h.accessCard();
    await access.unlock();
    const firstPid = h.emulator.pid;
    const health = async () => (await gatewayRequest({ url: h.gatewayUrl, caPem: access.profile.householdCaPem, method: 'GET', path: '/v1/health' })).json.card;
    t.is(await health(), 'present');

    // PIN2 is verified before the gateway reaches out to the market; the card's check of the
    // market chain and its signature come after. Kill the card at that moment.
    h.relay.beforeForward = async () => {
      h.relay.beforeForward = undefined;
      await h.emulator.kill('SIGKILL');
    };
    const started = Date.now();
    const refusal = await refusalOf(access.authorize(MARKET));
    t.like(refusal, { status: 503, code: 'card-absent' });
    t.true(Date.now() - started < 15_000, 'the terminal is told well before the 30 s command timeout');
    await eventually(() => h.gateway.cards.status === 'absent', 'the gateway reports the card absent', 5000);
    t.is(await health(), 'absent');

    await h.emulator.restart();
    t.not(h.emulator.pid, firstPid);
    await eventually(() => h.gateway.cards.status === 'present', 'the gateway finds the restarted card', 15_000);
    t.is(await health(), 'present');

    await access.unlock();
    const session = await access.authorize(MARKET);
    const who = JSON.parse((await marketRequest(session, { method: 'GET', path: '/whoami' })).body.toString('utf8')) as Record<string, unknown>;
    t.true(who.resumed);
    t.is(normName(who.clientIssuer), normName(h.cardSubject()));
  },
);
