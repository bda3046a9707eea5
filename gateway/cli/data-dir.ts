/**
 * Where a household's data lives: keys, the card image of the sandbox, the
 * registry. `--data DIR` wins, then HOMEGATE_DATA, then
 * $XDG_DATA_HOME/homegate, then ~/.local/share/homegate. The systemd unit in
 * deploy/ sets HOMEGATE_DATA=/var/lib/homegate on a gateway.
 */
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export function resolveDataDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return resolve(flag);
  if (env.HOMEGATE_DATA) return resolve(env.HOMEGATE_DATA);
  const xdg = env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(xdg, 'homegate');
}

/** Create the directory (0700: it holds keys) if needed and return it. */
export function ensureDataDir(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}
