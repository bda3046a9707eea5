/**
 * `homegate gateway rollback` and `homegate gateway install-release`: the
 * releases on a flashed gateway (gateway/device/releases.ts). Run as root on
 * the board (they switch /opt/homegate/current); `--root` points them at a
 * mounted SD card's root instead.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';

function gatewayGroup(program: Command): Command {
  return program.commands.find((c) => c.name() === 'gateway') ?? program.command('gateway').description('the home server: set up and run');
}

function print(json: boolean | undefined, value: unknown, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${text}\n`);
}

export function registerReleaseCommands(program: Command): void {
  const gateway = gatewayGroup(program);
  gateway
    .command('rollback')
    .description('go back to the release flashed before this one (the data directory is kept); then: systemctl restart homegate')
    .option('--root <dir>', 'root file system of the gateway (a mounted SD card)', '/')
    .option('--json', 'machine-readable output')
    .action(async (f: { root: string; json?: boolean }) => {
      const { rollbackRelease } = await import('../device/releases.js');
      const r = await rollbackRelease(resolve(f.root));
      print(f.json, r, `current release: ${r.to} (was ${r.from}); restart the gateway: systemctl restart homegate`);
    });
  gateway
    .command('install-release')
    .description('install an unpacked bundle (release/ and state/) onto a root file system; what provision device runs on a board over ssh')
    .argument('<bundle-dir>', 'folder holding release/ and state/')
    .option('--root <dir>', 'root file system to install into', '/')
    .option('--move', 'the bundle folder may be consumed: its release is renamed into place, not copied')
    .option('--json', 'machine-readable output')
    .action(async (bundleDir: string, f: { root: string; move?: boolean; json?: boolean }) => {
      const { installRelease } = await import('../device/release-install.js');
      const r = await installRelease(resolve(bundleDir), resolve(f.root), { move: f.move ?? false });
      print(f.json, r, `release ${r.release} installed${r.previous ? ` (previous: ${r.previous})` : ''}; data kept: ${r.stateKept.length} file(s)`);
    });
}
