/**
 * Where `homegate provision device --target` writes a bundle:
 *
 * - a folder: a mounted SD card's root file system (e.g. /media/$USER/rootfs),
 *   installed directly (release-install.ts);
 * - `ssh://user@host[:port][/root]`: a running board. The bundle travels as
 *   a tar stream over the system's `ssh` (its keys, known_hosts and config
 *   apply), is unpacked in a temporary folder there, and installs itself
 *   with its own Node.js (`homegate gateway install-release`), so the board
 *   needs nothing but a shell, tar and ssh. A user other than root runs it
 *   through `sudo -n` (passwordless sudo, as Raspberry Pi OS gives its first
 *   user). The optional path is the root to install into (default /).
 */
import { spawn } from 'node:child_process';
import { DeviceError } from './device-error.js';
import { runTool } from './run-tool.js';

export type FlashTarget = { kind: 'dir'; root: string } | { kind: 'ssh'; user: string | undefined; host: string; port: number | undefined; root: string };

export function parseFlashTarget(value: string): FlashTarget {
  if (!value.startsWith('ssh://')) {
    if (value.includes('://')) throw new DeviceError('invalid', `--target ${value}: a folder or ssh://user@host`, { target: value });
    return { kind: 'dir', root: value };
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new DeviceError('invalid', `--target ${value} is not a valid ssh:// address (ssh://user@host[:port][/root])`, { target: value });
  }
  if (url.password !== '') throw new DeviceError('invalid', '--target must not carry a password; ssh uses its keys', {});
  if (url.hostname === '') throw new DeviceError('invalid', `--target ${value} names no host`, { target: value });
  const root = decodeURIComponent(url.pathname) || '/';
  return {
    kind: 'ssh',
    user: url.username ? decodeURIComponent(url.username) : undefined,
    host: url.hostname,
    port: url.port ? Number(url.port) : undefined,
    root,
  };
}

/** A single-quoted POSIX shell word. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The command the board runs: unpack stdin, install with the bundle's own Node.js, clean up. */
export function remoteInstallCommand(root: string, sudo: boolean): string {
  const script = [
    'set -eu',
    't=$(mktemp -d)',
    `trap 'rm -rf "$t"' EXIT`,
    'tar -xf - -C "$t"',
    `"$t/release/node/bin/node" "$t/release/app/bin/homegate.js" gateway install-release "$t" --root ${shellQuote(root)} --move --json`,
  ].join('; ');
  // sudo -n: stdin is the bundle, so sudo must not wait for a password there; it fails at once instead.
  return sudo ? `sudo -n sh -c ${shellQuote(script)}` : `sh -c ${shellQuote(script)}`;
}

/** Streams `<bundleDir>/release` and `state` to the board and installs them there; returns the board's JSON answer. */
export async function flashOverSsh(target: Extract<FlashTarget, { kind: 'ssh' }>, bundleDir: string): Promise<unknown> {
  const dest = target.user ? `${target.user}@${target.host}` : target.host;
  const sudo = target.user !== undefined && target.user !== 'root';
  const args = [...(target.port ? ['-p', String(target.port)] : []), '-o', 'BatchMode=yes', dest, remoteInstallCommand(target.root, sudo)];
  const tar = spawn('tar', ['-cf', '-', '-C', bundleDir, 'release', 'state'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const tarDone = new Promise<void>((resolve, reject) => {
    tar.once('error', (e) => reject(new DeviceError('tool-failed', `Cannot run tar (${e.message})`, { command: 'tar' })));
    tar.once('close', (code) => (code === 0 ? resolve() : reject(new DeviceError('tool-failed', `tar failed (exit ${code})`, { command: 'tar' }))));
  });
  const [result] = await Promise.all([runTool('ssh', args, { input: tar.stdout! }), tarDone]);
  const lines = result.stdout.toString('utf8').trim().split('\n');
  try {
    return JSON.parse(lines.at(-1) ?? '');
  } catch {
    throw new DeviceError('tool-failed', 'The board did not report the installation (no JSON answer from install-release)', {});
  }
}
