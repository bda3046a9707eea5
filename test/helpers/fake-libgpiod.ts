/**
 * Fake libgpiod command-line tools (gpioset, gpioget, gpiomon) for the
 * linux-gpio panel plugin's tests: small node scripts written into a temp
 * directory that goes first on PATH. They check the argument syntax of the
 * libgpiod major version they pretend to be (1 or 2) and speak its documented
 * output: `--version`, gpioget's level (v2: `"N"=active` unless --numeric),
 * gpiomon's `--format` with %e (v1: 1 rising / 0 falling; v2: 1 rising /
 * 2 falling), %o, %s, %n; v1's gpiomon holds its output in a 4 KiB buffer
 * unless `--line-buffered`, as stdio does on a pipe.
 *
 * Like the kernel, a line is lent to one tool at a time (`<line>.lock`): a
 * second requester fails with "Device or resource busy".
 *
 * The "hardware" is a directory: an input line's level history is
 * `<chip>/<line>.events` (one 0/1 per line, appended by the test), an
 * output's level is `<chip>/<line>.out` (written by gpioset while it holds
 * the line). Every call is appended to `calls.log`.
 */
import { appendFile, chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

const COMMON = String.raw`
const fs = require('node:fs');
const path = require('node:path');
const major = Number(process.env.FAKE_LIBGPIOD_MAJOR || '1');
const dir = process.env.FAKE_GPIO_DIR;
const tool = path.basename(process.argv[1]);
const args = process.argv.slice(2);
function logCall() { fs.appendFileSync(path.join(dir, 'calls.log'), JSON.stringify([tool, ...args]) + '\n'); }
// gpiomon logs its call once it watches the line, so a test that sees the call knows no edge is lost.
if (tool !== 'gpiomon') logCall();
function die(msg) { process.stderr.write(tool + ': ' + msg + '\n'); process.exit(1); }
if (args[0] === '--version') { process.stdout.write(tool + ' (libgpiod) v' + (major === 1 ? '1.6.3' : '2.1.1') + '\nCopyright (C) 2017-2023 Bartosz Golaszewski\n'); process.exit(0); }
let chip, format, bias = 'as-is', numeric = false, mode = 'exit', lineBuffered = major === 2;
const rest = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (major === 2 && (a === '-c' || a === '--chip')) chip = args[++i];
  else if (a.startsWith('--format=')) format = a.slice(9);
  else if (a.startsWith('--bias=')) bias = a.slice(7);
  else if ((a === '-b' && major === 2) || (a === '-B' && major === 1)) bias = args[++i];
  else if (a === '--numeric' && major === 2) numeric = true;
  else if (a.startsWith('--mode=') && major === 1) mode = a.slice(7);
  else if ((a === '--line-buffered' || a === '-b') && major === 1 && tool === 'gpiomon') lineBuffered = true;
  else if (a.startsWith('-')) die('unrecognized option ' + a);
  else rest.push(a);
}
if (major === 1) chip = rest.shift();
if (!chip) die(major === 1 ? 'gpiochip must be specified' : 'the chip must be given with -c');
const chipDir = path.join(dir, chip);
fs.mkdirSync(chipDir, { recursive: true });
// The kernel lends a line to one requester at a time: a second one gets EBUSY, as the real tools report.
const claimed = [];
function claim(line) {
  const lock = path.join(chipDir, line + '.lock');
  try {
    fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
  } catch {
    const holder = Number(fs.readFileSync(lock, 'utf8'));
    let alive = true;
    try { process.kill(holder, 0); } catch { alive = false; }
    if (alive && holder !== process.pid) die('unable to request lines on chip ' + chip + ': Device or resource busy');
    fs.writeFileSync(lock, String(process.pid));
  }
  claimed.push(lock);
}
process.on('exit', () => { for (const l of claimed) { try { fs.unlinkSync(l); } catch {} } });
function levelOf(line) {
  const f = path.join(chipDir, line + '.events');
  const text = fs.existsSync(f) ? fs.readFileSync(f, 'utf8').trim() : '';
  if (text) return Number(text.split('\n').pop());
  return bias === 'pull-up' ? 1 : 0;
}
`;

const GPIOSET = `
if (rest.length === 0) die('at least one GPIO line offset to value mapping must be specified');
for (const m of rest) claim(m.split('=')[0]);
for (const m of rest) { const [line, v] = m.split('='); fs.writeFileSync(path.join(chipDir, line + '.out'), v); }
// v1 releases the line at once unless --mode=signal/wait; v2 holds it until killed.
if (major === 1 && mode === 'exit') process.exit(0);
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
setInterval(() => {}, 1 << 30);
`;

const GPIOGET = String.raw`
for (const line of rest) claim(line);
for (const line of rest) {
  const v = levelOf(line);
  process.stdout.write(major === 2 && !numeric ? '"' + line + '"=' + (v ? 'active' : 'inactive') + '\n' : v + '\n');
}
`;

const GPIOMON = String.raw`
const line = rest[0];
if (line === undefined) die('at least one GPIO line offset must be specified');
claim(line);
const f = path.join(chipDir, line + '.events');
let seen = fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).length : 0;
let level = levelOf(line);
logCall();
const fmt = format || '%e %o %s.%n';
function print(rising) {
  const ns = process.hrtime.bigint();
  const ev = rising ? '1' : major === 1 ? '0' : '2';
  const out = fmt.replace(/%e/g, ev).replace(/%o/g, line).replace(/%s/g, String(ns / 1000000000n)).replace(/%n/g, String(ns % 1000000000n));
  // v1 writes through stdio, block-buffered on a pipe unless --line-buffered; v2 flushes after each wait.
  if (lineBuffered) process.stdout.write(out + '\n');
  else if ((pending += out + '\n').length >= 4096) {
    process.stdout.write(pending);
    pending = '';
  }
}
let pending = '';
process.on('SIGTERM', () => process.exit(0));
setInterval(() => {
  if (!fs.existsSync(f)) return;
  const all = fs.readFileSync(f, 'utf8').split('\n').filter(Boolean);
  for (const v of all.slice(seen).map(Number)) {
    if (v !== level) print(v === 1);
    level = v;
  }
  seen = all.length;
}, 3);
`;

export interface FakeLibgpiod {
  /** Put the tools first on PATH (restored at teardown). */
  readonly binDir: string;
  /** Set an input line's level, as a finger on a button or a card in a socket would. */
  setInput(line: number, value: 0 | 1): Promise<void>;
  /** The level gpioset last drove on a line, if any. */
  output(line: number): Promise<0 | 1 | undefined>;
  /** Every call, as argv arrays. */
  calls(): Promise<string[][]>;
}

export async function installFakeLibgpiod(t: { teardown(f: () => Promise<void> | void): void }, o: { major: 1 | 2; chip?: string }): Promise<FakeLibgpiod> {
  const root = await mkdtemp(path.join(tmpdir(), 'homegate-gpiod-'));
  const binDir = path.join(root, 'bin');
  const dir = path.join(root, 'gpio');
  const chip = o.chip ?? 'gpiochip0';
  await mkdir(binDir);
  await mkdir(path.join(dir, chip), { recursive: true });
  await writeFile(path.join(dir, 'calls.log'), '');
  for (const [name, body] of Object.entries({ gpioset: GPIOSET, gpioget: GPIOGET, gpiomon: GPIOMON })) {
    const file = path.join(binDir, name);
    await writeFile(file, `#!${process.execPath}\n'use strict';\n${COMMON}\n${body}`);
    await chmod(file, 0o755);
  }
  const saved = { PATH: process.env.PATH, dir: process.env.FAKE_GPIO_DIR, major: process.env.FAKE_LIBGPIOD_MAJOR };
  process.env.PATH = `${binDir}${path.delimiter}${process.env.PATH ?? ''}`;
  process.env.FAKE_GPIO_DIR = dir;
  process.env.FAKE_LIBGPIOD_MAJOR = String(o.major);
  t.teardown(async () => {
    for (const [k, v] of [
      ['PATH', saved.PATH],
      ['FAKE_GPIO_DIR', saved.dir],
      ['FAKE_LIBGPIOD_MAJOR', saved.major],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await rm(root, { recursive: true, force: true });
  });
  return {
    binDir,
    setInput: (line, value) => appendFile(path.join(dir, chip, `${line}.events`), `${value}\n`),
    output: async (line) => {
      const v = await readFile(path.join(dir, chip, `${line}.out`), 'utf8').catch(() => undefined);
      return v === undefined ? undefined : v.trim() === '1' ? 1 : 0;
    },
    calls: async () =>
      (await readFile(path.join(dir, 'calls.log'), 'utf8'))
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as string[]),
  };
}
