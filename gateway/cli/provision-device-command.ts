/**
 * `homegate provision device`: flash a gateway from this machine onto a
 * mounted SD card's root file system or a running board over SSH
 * (gateway/device/flash-device.ts, docs/OPERATOR.md). No secret is taken on
 * the command line: the keys come from the household folder, passwords from
 * files (0600).
 *
 * The `provision` group is shared with `provision household` and `provision
 * card` (provision-commands.ts's provisionGroup).
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { provisionGroup } from './provision-commands.js';

interface DeviceFlags {
  target: string;
  arch: string;
  household: string;
  cardDevice: string;
  port?: number;
  mqtt?: string;
  mqttTerminalUrl?: string;
  mqttUser?: string;
  mqttPasswordFile?: string;
  cardAdminKey?: string;
  config?: string;
  nodeVersion?: string;
  json?: boolean;
}

const portNumber = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError('expected an integer in 1..65535');
  return n;
};

async function readBaseConfig(file: string): Promise<Record<string, unknown>> {
  const { DeviceError } = await import('../device/device-error.js');
  try {
    const value: unknown = JSON.parse(await readFile(file, 'utf8'));
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
    throw new DeviceError('invalid', `--config ${file} must hold a JSON object (a gateway.json)`, { file });
  } catch (e) {
    if (e instanceof DeviceError) throw e;
    throw new DeviceError('invalid', `--config ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file }, { cause: e });
  }
}

export function registerProvisionDeviceCommand(program: Command): void {
  provisionGroup(program)
    .command('device')
    .description('build a self-contained gateway bundle (Node.js runtime included) and write it onto an SD card root or a board over ssh')
    .requiredOption('--target <dir|ssh://user@host>', 'a mounted root file system, or ssh://user@host[:port][/root] of a running board')
    .requiredOption('--arch <arch>', "the board's architecture: arm64 | armv7l | x64 (uname -m; aarch64 is arm64)")
    .requiredOption('--household <dir>', 'the folder "homegate provision household --out DIR" made (only DIR/gateway/pki/ is read)')
    .requiredOption('--card-device <path|tcp://host:port>', "the home card's line on the board, e.g. /dev/serial0")
    .option('--port <port>', 'terminal listener port (default 8443)', portNumber)
    .option('--mqtt <url>', 'broker the gateway publishes to, e.g. mqtt://127.0.0.1:1883 (Mosquitto on the board)')
    .option('--mqtt-terminal-url <url>', 'broker terminals read their mail from, e.g. mqtts://<host>.local:8883 (default: --mqtt)')
    .option('--mqtt-user <name>', "the gateway's broker user (default none)")
    .option('--mqtt-password-file <file>', "file (0600) holding the gateway's broker password; copied to the board")
    .option('--card-admin-key <file>', "file (0600) holding the card's admin key (hex), for market add on the gateway")
    .option('--config <gateway.json>', 'more configuration to start from (the answers above win)')
    .option('--node-version <x.y.z>', 'pin the bundled Node.js (default: the newest of the major engines.node names)')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nRe-flashing replaces the software and keeps /var/lib/homegate; the release before stays for\n' +
        '"homegate gateway rollback". Downloads (the Node.js runtime, dependencies) are cached in\n' +
        '$HOMEGATE_CACHE, else ~/.cache/homegate. Exit codes: 0 flashed, 1 failed (nothing half-switched:\n' +
        'the release that ran before still runs).',
    )
    .action(async (f: DeviceFlags) => {
      const { flashDevice } = await import('../device/flash-device.js');
      const { parseTargetArch } = await import('../device/target-arch.js');
      const { defaultCacheDir } = await import('../device/bundle-build.js');
      const arch = parseTargetArch(f.arch);
      const baseConfig = f.config ? await readBaseConfig(f.config) : undefined;
      const r = await flashDevice({
        target: f.target.startsWith('ssh://') ? f.target : resolve(f.target),
        arch,
        householdDir: resolve(f.household),
        cacheDir: defaultCacheDir(),
        ...(f.nodeVersion ? { nodeVersion: f.nodeVersion } : {}),
        answers: {
          cardDevice: f.cardDevice,
          ...(f.port !== undefined ? { port: f.port } : {}),
          ...(f.mqtt ? { mqttUrl: f.mqtt } : {}),
          ...(f.mqttTerminalUrl ? { mqttTerminalUrl: f.mqttTerminalUrl } : {}),
          ...(f.mqttUser ? { mqttUsername: f.mqttUser } : {}),
          ...(f.mqttPasswordFile ? { mqttPasswordFile: resolve(f.mqttPasswordFile) } : {}),
          ...(f.cardAdminKey ? { cardAdminKeyFile: resolve(f.cardAdminKey) } : {}),
          ...(baseConfig ? { baseConfig } : {}),
        },
        onStep: f.json ? undefined : (s) => process.stderr.write(`· ${s}\n`),
      });
      if (f.json) process.stdout.write(`${JSON.stringify(r)}\n`);
      else {
        process.stdout.write(
          `flashed ${r.manifest.release} (${r.manifest.arch}, Node.js ${r.manifest.node}) onto ${r.target}\n` +
            '  first boot: the homegate-first-boot unit sets up the user, the folders and the UART; then homegate starts\n',
        );
      }
    });
}
