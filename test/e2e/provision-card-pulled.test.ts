/**
 * `homegate provision card` with the card pulled in the middle of a step (the
 * emulator process SIGKILLed while the step's commands run: the card loses
 * power mid-command), for the steps that write secrets: key generation and
 * PIN setting. The run fails naming the card; with the card back, the next
 * run finishes the job and the card takes the household's PINs.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { createCardImage } from '../../card-io/emulator/card-image.js';
import { connectHomeCard } from '../../card-io/home-card/connect.js';
import { HOMEGATE_BIN } from '../../deploy/sandbox/household/emulator-child.js';
import { loadOrCreateCa } from '../../provisioning/ca-store.js';
import { startEmulatorProcess } from '../helpers/household/index.js';
import { delay, freePort } from '../helpers/link-probes.js';

const PINS = 'pin1=2468\npin2=1357\npuk=24681357\n';
/** Each card command takes this long, so a pull lands inside a step. */
const SLOW_MS = 80;

/** One `provision card` run; `onLine` sees each JSON progress line as it comes. */
function provision(args: string[], onLine: (line: string) => void = () => undefined): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [HOMEGATE_BIN, 'provision', 'card', '--json', '--pins-fd', '3', ...args], {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    const fd3 = child.stdio[3] as NodeJS.WritableStream;
    fd3.on('error', () => undefined);
    fd3.end(PINS);
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    let partial = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
      const lines = (partial + s).split('\n');
      partial = lines.pop()!;
      for (const l of lines) onLine(l);
    });
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

for (const step of ['key-pair', 'pins'] as const) {
  test.serial(`A card pulled in the middle of the ${step} step fails the run; with the card back the next run finishes and the PINs work`, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'homegate-provision-pulled-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const adminKey = Buffer.alloc(32, 0x5a);
    const image = join(dir, 'card.img');
    await createCardImage(image, { adminKey });
    await writeFile(join(dir, 'admin.key'), `${adminKey.toString('hex')}\n`, { mode: 0o600 });
    await loadOrCreateCa(join(dir, 'issuer'), 'issuer-ca', 'CN=Test issuer CA');
    const device = `tcp://127.0.0.1:${await freePort()}`;
    const card = await startEmulatorProcess(device, image, 'error', { args: ['--slow-ms', String(SLOW_MS)] });
    t.teardown(() => card.stop());
    const args = ['--device', device, '--admin-key-file', join(dir, 'admin.key'), '--issuer-dir', join(dir, 'issuer')];

    let pulled: Promise<void> | undefined;
    const first = await provision(args, (line) => {
      if (pulled === undefined && line === JSON.stringify({ step, outcome: 'start' })) {
        pulled = delay(SLOW_MS * 1.5).then(() => card.kill('SIGKILL'));
      }
    });
    await pulled;
    t.truthy(pulled, `the run reached ${step}: ${first.stdout}${first.stderr}`);
    t.is(first.code, 1, `${first.stdout}${first.stderr}`);
    t.false(first.stdout.includes(JSON.stringify({ step, outcome: 'done' })), 'the step did not finish');

    await card.restart();
    const second = await provision(args);
    t.is(second.code, 0, `${second.stdout}${second.stderr}`);
    t.like(JSON.parse(second.stdout.trim().split('\n').at(-1)!), { status: 'personalized' });

    const conn = await connectHomeCard({ device });
    try {
      const info = await conn.card.info();
      t.is(info.lifeCycle, 'operational');
      t.truthy(info.certificate);
      await conn.card.select();
      await conn.card.verifyPin1('2468');
      await conn.card.verifyPin2('1357');
    } finally {
      await conn.close();
    }
  });
}
