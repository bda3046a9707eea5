/**
 * The firmware version, read once from package.json so it is written in one
 * place. This file compiles to dist/gateway/version.js, two levels below the
 * package root, which is where package.json sits in a checkout and on a device.
 */
import { readFileSync } from 'node:fs';

function readVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  if (typeof pkg.version !== 'string') throw new Error('package.json has no version');
  return pkg.version;
}

export const GATEWAY_VERSION = readVersion();
