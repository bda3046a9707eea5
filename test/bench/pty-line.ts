/**
 * The real line: a pty pair joined by socat (test/helpers/pty.ts), the
 * emulator as its own process (`homegate card emulate --device <pty>`) on
 * one end, the reader's serial link on the other.
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { openLink } from '../../card-io/link/open-link.js';
import { spawnEmulator } from '../../deploy/sandbox/household/emulator-child.js';
import { startPtyPair } from '../helpers/pty.js';
import type { CardLine } from './memory-line.js';

export function socatInstalled(searchPath = process.env.PATH ?? ''): boolean {
  return searchPath.split(path.delimiter).some((dir) => {
    try {
      accessSync(path.join(dir || '.', 'socat'), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export async function startPtyLine(imagePath: string): Promise<CardLine> {
  const cleanups: Array<() => unknown> = [];
  const close = async (): Promise<void> => {
    for (const fn of cleanups.reverse()) await fn();
  };
  try {
    const pty = await startPtyPair({ teardown: (fn) => void cleanups.push(fn) });
    const emulator = await spawnEmulator(pty.cardPath, imagePath, [], 'error');
    cleanups.push(() => emulator.stop());
    const hostLink = openLink(pty.hostPath);
    cleanups.push(() => hostLink.close());
    return { hostLink, close };
  } catch (e) {
    await close();
    throw e;
  }
}
