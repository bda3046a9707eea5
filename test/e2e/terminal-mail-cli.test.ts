/**
 * `homegate terminal mail` as a user runs it (the compiled CLI as its own
 * process, against the sandbox household's gateway): it logs in with the
 * broker login its profile got at enrollment and shows the card-signed mail;
 * a profile without that login is refused by the broker. Both on the
 * sandbox's embedded broker and on a real Mosquitto run with the shipped
 * configuration (deploy/mosquitto), whose users are the file the gateway wrote.
 */
import { copyFile, cp, mkdtemp, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { BROKER_USERS_FILE, setBrokerUser } from '../../gateway/notify/broker-users.js';
import { DEMO_TERMINAL } from '../../deploy/sandbox/household/sandbox-registry.js';
import { needsBinary } from '../helpers/binaries.js';
import { serialWhen, SANDBOX_MARKET, startPurseHousehold, type PurseHousehold } from '../helpers/household/index.js';
import { shippedMosquittoConfig, startMosquitto } from '../helpers/mosquitto.js';
import { runCli, type CliResult } from '../gateway/cli-process.js';

const mosquitto = needsBinary('mosquitto');

const readMail = (h: PurseHousehold, profile: string) =>
  runCli(['--data', h.dataDir, 'terminal', 'mail', '--profile', profile, '--json', '--idle-ms', '800'], { timeoutMs: 60_000 });

/** `terminal mail` until `id` is shown (the gateway may still be reconnecting to the broker). */
async function readMailUntilShown(h: PurseHousehold, id: string): Promise<{ last: CliResult; shown: string[] }> {
  const shown: string[] = [];
  const deadline = Date.now() + 30_000;
  let last: CliResult;
  do {
    last = await readMail(h, DEMO_TERMINAL.name);
    if (last.code !== 0) break;
    shown.push(...(JSON.parse(last.stdout) as Array<{ id: string }>).map((n) => n.id));
  } while (!shown.includes(id) && Date.now() < deadline);
  return { last, shown };
}

/** A copy of the demo profile without broker.json: the same terminal, without its broker login. */
async function profileWithoutLogin(h: PurseHousehold): Promise<string> {
  const name = 'no-broker-login';
  const dir = join(h.dataDir, 'terminals', name);
  await cp(join(h.dataDir, 'terminals', DEMO_TERMINAL.name), dir, { recursive: true });
  await unlink(join(dir, 'broker.json'));
  await rm(join(dir, 'mail-seen.json'), { force: true });
  await rm(join(dir, 'mail-seen.jsonl'), { force: true }); // the seen-mail journal (gateway/cli/seen-mail-journal.ts)
  return name;
}

async function payOnce(t: ExecutionContext, h: PurseHousehold): Promise<string> {
  const access = await h.accessCard();
  const order = await h.createOrder(access, 'tea-100g');
  const paid = (await access.pay(SANDBOX_MARKET, order.orderId)) as unknown as { record: { seq: number } };
  t.truthy(paid.record);
  return `${h.cardId}:decision:${paid.record.seq}`;
}

async function mailWithAndWithoutLogin(t: ExecutionContext, h: PurseHousehold): Promise<void> {
  const id = await payOnce(t, h);
  const { last, shown } = await readMailUntilShown(h, id);
  t.is(last.code, 0, last.stderr);
  t.deepEqual(shown, [id], 'the card-signed decision is shown, once');

  const refused = await readMail(h, await profileWithoutLogin(h));
  t.is(refused.code, 1, refused.stdout);
  t.regex(refused.stderr, /mailbox:broker-refused/);
  t.is(refused.stdout, '');
}

test.serial(
  "When the sandbox terminal reads its mail with its profile's broker login it sees the signed decision; without the login the embedded broker " + 'refuses it',
  async (t) => {
    const h = await startPurseHousehold(t);
    await mailWithAndWithoutLogin(t, h);
  },
);

serialWhen(mosquitto)(
  'When the household runs Mosquitto with the shipped configuration, ' + "terminal mail reads with the profile's login and is refused without it",
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'homegate-mail-cli-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const passwordFile = join(dir, 'homegate.passwd');
    await setBrokerUser(passwordFile, { username: 'placeholder', password: 'placeholder' }); // Mosquitto will not start without the file
    const broker = await startMosquitto({ config: (ctx) => shippedMosquittoConfig(ctx, passwordFile) });
    t.teardown(() => broker.dispose());
    const h = await startPurseHousehold(t, { mqttUrl: broker.url });
    // The installation step homegate.conf describes: the gateway's user file becomes Mosquitto's, then a reload.
    await copyFile(join(h.dataDir, BROKER_USERS_FILE), passwordFile);
    await broker.stop();
    await broker.start();
    // The first read opens the terminal's persistent session (an external broker is not primed by the sandbox).
    const opened = await readMail(h, DEMO_TERMINAL.name);
    t.is(opened.code, 0, opened.stderr);
    await mailWithAndWithoutLogin(t, h);
  },
);
