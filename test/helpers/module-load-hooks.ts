/**
 * Module customization hooks (Node's `module.register`, run on the loader's
 * own thread) for module-load-probe.ts: every module the measured process
 * resolves through `import` (ours, and the packages our ESM code imports,
 * CommonJS ones included) is appended, as its URL, one per line, to the file
 * named in `initialize`'s data. A package that a CommonJS package `require`s
 * does not pass here; the probe's `require` hook records those.
 */
import { appendFileSync } from 'node:fs';

let out: string | undefined;

export function initialize(data: { out: string }): void {
  out = data.out;
}

type NextResolve = (specifier: string, context: unknown) => Promise<{ url: string }>;

export async function resolve(specifier: string, context: unknown, next: NextResolve): Promise<{ url: string }> {
  const resolved = await next(specifier, context);
  if (out !== undefined) appendFileSync(out, `${resolved.url}\n`);
  return resolved;
}
