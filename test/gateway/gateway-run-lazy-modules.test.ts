/**
 * Issue 9, memory: `homegate gateway run` loads what a feature needs only when
 * the feature is on. A gateway on a `tcp://` card line, with no panel, no
 * SMTP, no mDNS advertisement and no embedded broker, must not load the
 * serial port's native binding, johnny-five, multicast-dns, nodemailer,
 * aedes, the card emulator's curve library, the QR code library or the X.509
 * issuing code (making these lazy cut the idle RSS by about 13 MiB and the live
 * heap by 6 MiB, docs/PERFORMANCE.md); the X.509 code comes at the first
 * enrollment.
 *
 * Real parts: `homegate gateway init` and `gateway run` as processes, with a
 * probe preloaded into the gateway (test/helpers/module-load-probe.ts) that
 * logs every module it loads; the enrollment through the admin socket with
 * `homegate terminals enroll`. No card answers on the line: the gateway
 * starts without one and keeps trying.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { HOMEGATE_BIN } from '../../deploy/sandbox/household/emulator-child.js';
import { freePort } from '../helpers/link-probes.js';
import { runCli, transcript } from './cli-process.js';

const PROBE = fileURLToPath(new URL('../helpers/module-load-probe.js', import.meta.url));

/** Packages a plain `gateway run` has no use for, each with the feature that needs it. */
const OPTIONAL_PACKAGES: Record<string, string> = {
  serialport: 'a card on a serial device',
  '@serialport/bindings-cpp': 'a card on a serial device',
  'johnny-five': 'the panel',
  firmata: 'the panel on an Arduino',
  'multicast-dns': 'pairing.advertise',
  nodemailer: 'smtp',
  aedes: "the sandbox's embedded broker",
  '@noble/curves': 'the card emulator',
  '@peculiar/x509': 'pairing and enrollment',
  '@peculiar/asn1-schema': 'pairing and enrollment',
  'reflect-metadata': 'pairing and enrollment',
  tsyringe: 'pairing and enrollment',
  'qrcode-generator': "the pairing code's QR code, printed by homegate terminals pair",
};

/** The package names (`name` or `@scope/name`) in a module log: every `node_modules/<package>` segment. */
function loadedPackages(log: string): Set<string> {
  return new Set([...log.matchAll(/node_modules\/((?:@[^/\s]+\/)?[^/\s]+)/g)].map((m) => m[1]!));
}

function startGatewayRun(dataDir: string, moduleLog: string): Promise<ChildProcess> {
  const env: NodeJS.ProcessEnv = { ...process.env, HOMEGATE_TEST_MODULE_LOG: moduleLog };
  delete env.HOMEGATE_DATA;
  delete env.HOMEGATE_LOG_LEVEL;
  const child = spawn(process.execPath, ['--import', PROBE, HOMEGATE_BIN, '--data', dataDir, '--log-level', 'error', 'gateway', 'run'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-4000)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gateway run was not ready within 30 s; stderr: ${stderr}`));
    }, 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`gateway run exited (${code}) before it was ready; stderr: ${stderr}`));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.includes('"ready"')) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve(child);
    });
  });
}

test('gateway run on a tcp:// card line without panel, SMTP or mDNS loads none of their packages, and the X.509 code only at the first enrollment', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'homegate-lazy-modules-'));
  const moduleLog = join(dataDir, 'modules.log');
  let gateway: ChildProcess | undefined;
  t.teardown(async () => {
    if (gateway && gateway.exitCode === null && gateway.signalCode === null) {
      const gone = new Promise((r) => gateway!.once('exit', r));
      gateway.kill('SIGKILL');
      await gone;
    }
    await rm(dataDir, { recursive: true, force: true });
  });
  // A port nothing listens on: the card line stays down, which the gateway tolerates.
  const [cardPort, apiPort] = [await freePort(), await freePort()];
  const init = await runCli(['--data', dataDir, 'gateway', 'init', '--card-device', `tcp://127.0.0.1:${cardPort}`, '--port', String(apiPort)]);
  t.is(init.code, 0, transcript(init));

  gateway = await startGatewayRun(dataDir, moduleLog);
  const atStart = loadedPackages(await readFile(moduleLog, 'utf8'));
  // The probe sees packages at all (a probe that saw nothing would pass the next check).
  t.true(atStart.has('zod') && atStart.has('pino'), `the module log names the packages loaded: ${[...atStart].join(' ')}`);
  const unexpected = Object.keys(OPTIONAL_PACKAGES).filter((p) => atStart.has(p));
  t.deepEqual(
    unexpected.map((p) => `${p} (${OPTIONAL_PACKAGES[p]})`),
    [],
    'loaded at start though the feature is off',
  );

  const enroll = await runCli(['--data', dataDir, 'terminals', 'enroll', 'laptop', '--mail', 'laptop@home.example']);
  t.is(enroll.code, 0, transcript(enroll));
  const afterEnrollment = loadedPackages(await readFile(moduleLog, 'utf8'));
  t.true(afterEnrollment.has('@peculiar/x509'), 'the first enrollment loads the X.509 issuing code');
});
