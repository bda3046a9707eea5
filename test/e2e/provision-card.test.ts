/**
 * `homegate provision card` on a factory-fresh card (the emulator as its own
 * process): personalized with the household's PINs from a file descriptor
 * over a pty and then used for a market authorization; killed at the start of
 * each step and finished by the next run; PINs that break the rules refused
 * before the card is touched; the --csr-out / --import-cert round trip.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { connectHomeCard } from '../../card-io/home-card/connect.js';
import { HOMEGATE_BIN } from '../../deploy/sandbox/household/emulator-child.js';
import { createCardImage } from '../../card-io/emulator/card-image.js';
import { loadOrCreateCa } from '../../provisioning/ca-store.js';
import { publicKeyFromCsr } from '../../provisioning/terminal-issuer.js';
import { certifyCardKey, derToPem, generateP256KeyPair, pemToDer, spkiDer } from '../../provisioning/pki/index.js';
import { PROVISION_STEPS } from '../../provisioning/provision-card.js';
import { needsBinary } from '../helpers/binaries.js';
import { runCli, transcript } from '../gateway/cli-process.js';
import { freePort } from '../helpers/link-probes.js';
import { MARKET, serialWhen, startEmulatorProcess, startHousehold } from '../helpers/household/index.js';

const PINS = { pin1: '2468', pin2: '1357', puk: '24681357' };
const pinLines = (p: typeof PINS) => `pin1=${p.pin1}\npin2=${p.pin2}\npuk=${p.puk}\n`;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `homegate provision card …` with the PIN lines on file descriptor 3; `killAt` SIGKILLs it when that JSON line appears. */
function provision(args: string[], pins: string, killAt?: { step: string; outcome: string }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [HOMEGATE_BIN, 'provision', 'card', '--json', '--pins-fd', '3', ...args], {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    const fd3 = child.stdio[3] as NodeJS.WritableStream;
    fd3.on('error', () => undefined);
    fd3.end(pins);
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
      if (killAt && stdout.split('\n').some((l) => l === JSON.stringify(killAt))) child.kill('SIGKILL');
    });
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

const show = (r: Run) => `exit ${r.code} ${r.signal ?? ''}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;

/** A factory-fresh card image served on a TCP line, an admin key file and an issuer CA. */
async function freshCard(t: ExecutionContext) {
  const dir = await mkdtemp(join(tmpdir(), 'homegate-provision-card-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const adminKey = Buffer.alloc(32, 0x5a);
  const image = join(dir, 'card.img');
  await createCardImage(image, { adminKey });
  await writeFile(join(dir, 'admin.key'), `${adminKey.toString('hex')}\n`, { mode: 0o600 });
  const issuer = await loadOrCreateCa(join(dir, 'issuer'), 'issuer-ca', 'CN=Test issuer CA');
  const device = `tcp://127.0.0.1:${await freePort()}`;
  const emulator = await startEmulatorProcess(device, image, 'error');
  t.teardown(() => emulator.stop());
  const args = ['--device', device, '--admin-key-file', join(dir, 'admin.key')];
  const readCard = async () => {
    const conn = await connectHomeCard({ device });
    try {
      return await conn.card.info();
    } finally {
      await conn.close();
    }
  };
  return { dir, device, args, issuerDir: join(dir, 'issuer'), issuer, readCard };
}

const socat = needsBinary('socat');

serialWhen(socat)(
  'A factory-fresh card on a pty is personalized with PINs from a file descriptor, then authorizes a market session with those PINs',
  async (t) => {
    let run: Run | undefined;
    const h = await startHousehold(t, {
      line: 'pty',
      personalize: async ({ dataDir, device, adminKeyPath }) => {
        const args = ['--device', device, '--admin-key-file', adminKeyPath, '--issuer-dir', join(dataDir, 'pki')];
        run = await provision([...args, '--anchor', join(dataDir, 'sandbox', 'market', 'market-ca.pem')], pinLines(PINS));
      },
    });
    t.is(run?.code, 0, run && show(run));
    const lines = run!.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    t.deepEqual(
      lines.filter((l) => l.outcome === 'done' || l.outcome === 'skipped').map((l) => l.step),
      [...PROVISION_STEPS],
    );
    t.like(lines.at(-1), { status: 'personalized' });
    t.false(run!.stdout.includes(PINS.pin1) || run!.stderr.includes(PINS.pin1));

    const access = await h.accessCard(undefined, async (which) => (which === 'PIN1' ? PINS.pin1 : PINS.pin2));
    t.teardown(() => access.close());
    await access.unlock();
    const s = await access.authorize(MARKET);
    t.is(s.market, MARKET);
  },
);

test.serial('Personalization killed at the start of each step is finished by the next run, and the card then takes the household PINs', async (t) => {
  const c = await freshCard(t);
  const loadKey = join(c.dir, 'issuer-load.pem');
  await writeFile(loadKey, generateP256KeyPair().publicKey.export({ type: 'spki', format: 'pem' }));
  const args = [...c.args, '--issuer-dir', c.issuerDir, '--issuer-load-key', loadKey, '--max-balance', '50000'];
  for (const step of PROVISION_STEPS) {
    const killed = await provision(args, pinLines(PINS), { step, outcome: 'start' });
    // ACTIVATE may win the race against the kill: then the card is simply done.
    if (step === 'lock') continue;
    t.is(killed.signal, 'SIGKILL', `killed at ${step}: ${show(killed)}`);
    t.is((await c.readCard()).lifeCycle, 'personalization', `after a kill at ${step}`);
  }
  const last = await provision(args, pinLines(PINS));
  t.is(last.code, 0, show(last));
  t.regex(JSON.parse(last.stdout.trim().split('\n').at(-1)!).status, /^(already-)?personalized$/);

  const again = await provision(args, pinLines(PINS));
  t.like(JSON.parse(again.stdout.trim().split('\n').at(-1)!), { status: 'already-personalized' });

  const conn = await connectHomeCard({ device: c.device });
  try {
    const info = await conn.card.info();
    t.is(info.lifeCycle, 'operational');
    t.true(info.certificate !== undefined);
    await conn.card.select();
    await conn.card.verifyPin1(PINS.pin1);
    await conn.card.verifyPin2(PINS.pin2);
    t.like(await conn.card.purseStatus(), { currency: 'EUR', maxBalance: 50_000, balance: 0 });
  } finally {
    await conn.close();
  }
});

test.serial('PINs that break the rules are refused before the card is touched: no key is generated', async (t) => {
  const c = await freshCard(t);
  const args = [...c.args, '--issuer-dir', c.issuerDir];
  const cases: Array<[string, RegExp]> = [
    [pinLines({ ...PINS, pin1: '1111' }), /PIN1 must not be one digit repeated/],
    [pinLines({ ...PINS, pin2: PINS.pin1 }), /PIN1 and PIN2 must differ/],
    [pinLines({ ...PINS, pin1: '12' }), /PIN1 must be 4 to 8 digits/],
    [pinLines({ ...PINS, puk: '1234' }), /PUK must be exactly 8 digits/],
    [`pin1=${PINS.pin1}\npin1=${PINS.pin2}\npuk=${PINS.puk}\n`, /PIN1 is given twice/],
    [`${PINS.pin1}\n${PINS.pin2}\n${PINS.puk}\n`, /must be pin1=…, pin2=… or puk=…/],
  ];
  for (const [lines, message] of cases) {
    const r = await provision(args, lines);
    t.is(r.code, 1, show(r));
    t.regex(r.stderr, message);
  }
  // Without --pins-fd: each PIN twice, from the TTY or stdin lines; a mistyped repeat stops everything.
  const typo = await runCli(['provision', 'card', ...args], { input: `${PINS.pin1}\n${PINS.pin1}\n${PINS.pin2}\n${PINS.pin2}x\n` });
  t.is(typo.code, 1, transcript(typo));
  t.regex(typo.stderr, /The two PIN2 entries differ/);
  const info = await c.readCard();
  t.is(info.lifeCycle, 'personalization');
  t.is(info.publicKey, undefined);
});

test.serial("The --csr-out / --import-cert round trip: the card signs its own request, the issuer's certificate completes it", async (t) => {
  const c = await freshCard(t);
  const csrFile = join(c.dir, 'card.csr');
  const first = await provision([...c.args, '--csr-out', csrFile], pinLines(PINS));
  t.is(first.code, 4, show(first));
  const csr = pemToDer(await readFile(csrFile, 'utf8'), 'CERTIFICATE REQUEST');
  const cardKey = await publicKeyFromCsr(csr); // the card's signature over its request verifies
  t.deepEqual(spkiDer(cardKey), spkiDer((await c.readCard()).publicKey!));

  const certificate = await certifyCardKey({ subject: 'CN=Home card,O=Test', cardPublicKey: spkiDer(cardKey), issuer: c.issuer });
  const certFile = join(c.dir, 'card.pem');
  await writeFile(certFile, derToPem(certificate));
  const second = await provision([...c.args, '--import-cert', certFile], pinLines(PINS));
  t.is(second.code, 0, show(second));
  const info = await c.readCard();
  t.is(info.lifeCycle, 'operational');
  t.deepEqual(info.certificate, certificate);
});
