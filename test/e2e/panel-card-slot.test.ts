/**
 * `homegate panel insert|remove` in the sandbox, end to end: the sandbox
 * household as `npm start` runs it (card emulator process in a virtual
 * socket, virtual panel), the commands as processes through the admin
 * socket, reaching the virtual socket through the gateway's lazy card slot.
 * `homegate status --json` shows the socket and the panel as they change.
 */
import test from 'ava';
import { runCli } from '../gateway/cli-process.js';
import { eventually, startPurseHousehold } from '../helpers/household/index.js';

test('homegate panel remove pulls the sandbox card (absent, status says so) and panel insert puts it back (activated from its ATR; PIN1 again)', async (t) => {
  const h = await startPurseHousehold(t, { socket: true });
  const gateway = h.inProcess!;
  const cli = (...args: string[]) => runCli(['--data', h.dataDir, ...args]);
  const status = async () => {
    const r = await cli('status', '--json');
    t.is(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };
  const access = await h.accessCard();
  await access.unlock();

  const before = await status();
  t.like(before, {
    card: 'present',
    socket: { backend: 'virtual', present: true, activated: true, state: 'ready', protocol: 'T=1', ifsc: 254, edc: 'lrc', fi: 372, di: 1, pps: 'skipped' },
    panel: { plugin: 'virtual', pins: { ready: 5, busy: 6, attention: 13, button: 17, buzzer: 18 }, pendingConfirmation: null },
  });
  t.regex(String((before.socket as Record<string, unknown>).atr), /^3B/);
  t.is(typeof (before.socket as Record<string, unknown>).bwi, 'number');
  t.is(typeof (before.socket as Record<string, unknown>).cwi, 'number');

  const removed = await cli('panel', 'remove', '--json');
  t.is(removed.code, 0, removed.stderr);
  await eventually(() => gateway.cards.status === 'absent', 'the card is absent after panel remove');
  t.like(await status(), { card: 'absent', socket: { present: false, activated: false, state: 'empty' } });
  const text = await cli('status');
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, /card absent/);

  const inserted = await cli('panel', 'insert', '--json');
  t.is(inserted.code, 0, inserted.stderr);
  await eventually(() => gateway.cards.status === 'present', 'the card is activated after panel insert', 15_000);
  t.like(await status(), { card: 'present', socket: { present: true, activated: true, state: 'ready' } });
  t.false(await access.isUnlocked(), 'a new card session: PIN1 again');
  await access.unlock();
  t.true(await access.isUnlocked());
});
