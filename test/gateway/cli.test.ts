/**
 * The `homegate` command line through real processes (bin/homegate.js runs
 * the compiled CLI): help, exit codes, file modes, messages, and what reaches
 * stdout and stderr.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { decodeImage } from '../../card-io/emulator/image-codec.js';
import { spawnEmulator } from '../../deploy/sandbox/household/emulator-child.js';
import { isPortFree } from '../../deploy/sandbox/household/port-check.js';
import { freePort } from '../helpers/link-probes.js';
import { runCli, secretsIn, transcript } from './cli-process.js';

async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hg-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const mode = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;

test('--help on the root and on every subcommand exits 0 and lists its subcommands and options', async (t) => {
  const expected: Array<[string[], string[]]> = [
    [[], ['card', 'sandbox', '--data', '--log-level']],
    [['card'], ['new-image', 'emulate', 'info', 'unblock', 'change-pin']],
    [
      ['card', 'unblock'],
      ['<pin>', '--json', 'the PUK (8 digits)', 'the new PIN again'],
    ],
    [
      ['card', 'change-pin'],
      ['<pin>', '--json', 'change-pin 2: PIN1, current PIN2, new PIN2, new PIN2 again'],
    ],
    [['terminal'], ['unlock', 'Only "terminal unlock" reads PIN1', 'exit code 3']],
    [
      ['card', 'new-image'],
      ['<file>', '--admin-key-out', '--json'],
    ],
    [
      ['card', 'emulate'],
      ['--device', '--image', '--slow-ms', '--edc', '--ifsc', '--bwt-ms', '--baud'],
    ],
    [
      ['card', 'info'],
      ['--device', '--json', '--edc', '--ifsc', '--bwt-ms', '--baud'],
    ],
    [['sandbox'], ['--card-port', '--once']],
  ];
  await Promise.all(
    expected.map(async ([command, words]) => {
      const r = await runCli([...command, '--help']);
      t.is(r.code, 0, `homegate ${command.join(' ')} --help: ${transcript(r)}`);
      for (const w of words) t.true(r.stdout.includes(w), `homegate ${command.join(' ')} --help lists ${w}`);
    }),
  );
});

test('card new-image creates a 0600 image and refuses to overwrite it, leaving the file unchanged', async (t) => {
  const dir = await tempDir(t);
  const image = join(dir, 'card.img');
  const first = await runCli(['card', 'new-image', image]);
  t.is(first.code, 0, transcript(first));
  t.is(await mode(image), 0o600);
  const bytes = await readFile(image);
  t.is(decodeImage(bytes).lifeCycle, 0x03, 'a factory-fresh card in personalization');
  t.regex(first.stdout, /admin key \(shown once, keep it safe\): [0-9a-f]{64}/);

  const second = await runCli(['card', 'new-image', image]);
  t.not(second.code, 0, transcript(second));
  t.regex(second.stderr, /already exists/);
  t.false(second.stderr.includes('    at '), 'a clear message, not a stack trace');
  t.deepEqual(await readFile(image), bytes);
});

test('card new-image --admin-key-out writes the key to a 0600 file and prints it nowhere', async (t) => {
  const dir = await tempDir(t);
  const image = join(dir, 'card.img');
  const keyFile = join(dir, 'admin.key');
  const r = await runCli(['card', 'new-image', image, '--admin-key-out', keyFile, '--json']);
  t.is(r.code, 0, transcript(r));
  t.is(await mode(keyFile), 0o600);
  const key = (await readFile(keyFile, 'utf8')).trim();
  t.regex(key, /^[0-9a-f]{64}$/);
  t.is(decodeImage(await readFile(image)).adminKey.toString('hex'), key, "the key file holds the image's admin key");
  t.false(r.stdout.includes(key) || r.stderr.includes(key), 'the key is not printed');
  const out = JSON.parse(r.stdout) as Record<string, unknown>;
  t.is(out.adminKeyFile, keyFile);
  t.false('adminKey' in out);
});

test('card new-image --admin-key-out naming an existing file fails clearly and leaves no image without its key', async (t) => {
  const dir = await tempDir(t);
  const image = join(dir, 'card.img');
  const keyFile = join(dir, 'admin.key');
  await writeFile(keyFile, "somebody else's key\n");
  const r = await runCli(['card', 'new-image', image, '--admin-key-out', keyFile]);
  t.not(r.code, 0, transcript(r));
  t.regex(r.stderr, /admin\.key/);
  t.false(r.stderr.includes('    at '), 'a clear message, not a stack trace');
  t.is(await readFile(keyFile, 'utf8'), "somebody else's key\n", 'the existing file is untouched');
  await t.throwsAsync(stat(image), undefined, 'no image whose admin key nobody has');
});

test('card info --json against an emulator process prints the card id, life cycle and retry counters as JSON', async (t) => {
  const dir = await tempDir(t);
  const image = join(dir, 'card.img');
  const created = JSON.parse((await runCli(['card', 'new-image', image, '--json'])).stdout) as { cardId: string };
  const device = `tcp://127.0.0.1:${await freePort()}`;
  const emulator = await spawnEmulator(device, image, [], 'error');
  t.teardown(() => emulator.stop());

  const r = await runCli(['card', 'info', '--device', device, '--json']);
  t.is(r.code, 0, transcript(r));
  const info = JSON.parse(r.stdout) as { cardId: string; lifeCycle: string; retryCounters: Record<string, { left: number; max: number }> };
  t.is(info.cardId, created.cardId);
  t.is(info.lifeCycle, 'personalization');
  t.deepEqual(Object.keys(info.retryCounters).sort(), ['admin', 'pin1', 'pin2', 'puk']);
  t.deepEqual(info.retryCounters.admin, { left: 10, max: 10 });

  const text = await runCli(['card', 'info', '--device', device]);
  t.is(text.code, 0, transcript(text));
  t.regex(text.stdout, new RegExp(`card id\\s+${created.cardId}`));
});

test('card info where nothing listens fails with a message naming the address, exit 1, in bounded time', async (t) => {
  const device = `tcp://127.0.0.1:${await freePort()}`;
  const r = await runCli(['card', 'info', '--device', device], { timeoutMs: 30_000 });
  t.false(r.timedOut, 'gave up on its own');
  t.is(r.code, 1, transcript(r));
  const last = r.stderr.trim().split('\n').at(-1) ?? '';
  t.true(last.startsWith('homegate: ') && last.includes(device), `clear last line: ${last}`);
  t.false(r.stderr.includes('    at '), 'a clear message, not a stack trace');
});

test('sandbox --once starts a new household and exits 0, a second run reuses the data, and no PIN reaches a trace log line', async (t) => {
  const data = await tempDir(t);
  const [card, gateway, market] = [await freePort(), await freePort(), await freePort()];
  const ports = ['--card-port', String(card), '--gateway-port', String(gateway), '--market-port', String(market)];
  const args = ['--data', data, '--log-level', 'trace', 'sandbox', '--once', ...ports];
  const first = await runCli(args, { timeoutMs: 90_000 });
  t.is(first.code, 0, transcript(first));
  for (const line of [`home card emulator running on tcp://127.0.0.1:${card}`, 'card personalized', 'Demo card passwords']) {
    t.true(first.stdout.includes(line), `the walkthrough says "${line}": ${first.stdout}`);
  }
  t.is(await mode(join(data, 'sandbox', 'card.img')), 0o600);
  t.is(await mode(join(data, 'sandbox', 'card-admin.key')), 0o600);
  t.true(await isPortFree(card), 'the card emulator was stopped');

  const second = await runCli(args, { timeoutMs: 90_000 });
  t.is(second.code, 0, transcript(second));
  t.true(second.stdout.includes('reusing'), second.stdout);
  t.false(second.stdout.includes('card personalized'), 'the card is not personalized twice');

  // stdout names the demo PINs on purpose (the closing help); no log line on stderr may.
  const pins = ['1234', '5678', '87654321'];
  const lines = [...first.stderr.split('\n'), ...second.stderr.split('\n')].filter((l) => l.trim() !== '');
  t.true(
    lines.some((l) => l.includes('T=1 send')),
    'trace level is on',
  );
  for (const line of lines) t.deepEqual(secretsIn(line, pins), [], `a PIN in a log line: ${line}`);
});

test('sandbox with an occupied --card-port fails with a message naming the port and the --card-port flag', async (t) => {
  const data = await tempDir(t);
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as net.AddressInfo).port;
  const others = ['--gateway-port', String(await freePort()), '--market-port', String(await freePort())];
  const r = await runCli(['--data', data, 'sandbox', '--once', '--card-port', String(port), ...others], { timeoutMs: 90_000 });
  t.is(r.code, 1, transcript(r));
  t.true(r.stderr.includes(`Port ${port}`) && r.stderr.includes('--card-port'), r.stderr);
  t.false(r.stderr.includes('    at '), 'a clear message, not a stack trace');
});

test('card unblock with too few stdin lines fails with exit 1 naming the missing input, before contacting the gateway, and echoes no PIN', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'homegate-cli-unblock-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const r = await runCli(['--data', dir, 'card', 'unblock', '1'], { input: '87654321\n4321\n' });
  t.is(r.code, 1, transcript(r));
  t.regex(r.stderr, /No input for "New PIN1 again": stdin ended/);
  t.notRegex(r.stderr, /\n\s+at /, 'no stack trace');
  t.deepEqual(secretsIn(`${r.stdout}${r.stderr}`, ['87654321', '4321']), []);
});

test('Invalid option values are rejected with a non-zero exit code and a message naming the option', async (t) => {
  const device = ['--device', 'tcp://127.0.0.1:9'];
  const cases: Array<[string[], string]> = [
    [['card', 'info', ...device, '--ifsc', '999'], '--ifsc'],
    [['card', 'info', ...device, '--ifsc', 'many'], '--ifsc'],
    [['card', 'info', ...device, '--edc', 'md5'], '--edc'],
    [['card', 'info', ...device, '--bwt-ms', '5'], '--bwt-ms'],
    [['card', 'info', ...device, '--baud', '9600.5'], '--baud'],
    [['card', 'emulate', ...device, '--image', 'x.img', '--slow-ms', 'soon'], '--slow-ms'],
    [['card', 'info'], '--device'],
    [['card', 'info', '--device', 'localhost:2000'], 'localhost:2000'],
    [['sandbox', '--card-port', '70000'], '--card-port'],
  ];
  await Promise.all(
    cases.map(async ([args, named]) => {
      const r = await runCli(args);
      t.true(r.code !== 0 && r.code !== null, `homegate ${args.join(' ')}: ${transcript(r)}`);
      t.true(r.stderr.includes(named), `homegate ${args.join(' ')} names ${named}: ${r.stderr}`);
    }),
  );
});
