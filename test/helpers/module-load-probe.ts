/**
 * Preloaded into a process under test with `node --import <this file>`:
 * records which modules the process loads, so a test can say which packages a
 * command never loaded (e.g. `gateway run` without a panel loads no
 * johnny-five). Every resolved `import` (module-load-hooks.ts) and every
 * CommonJS `require` is appended, as a file URL or path, one per line, to the
 * file named by HOMEGATE_TEST_MODULE_LOG. Nothing of homegate knows it.
 *
 * `loadedPackages(text)` turns that log into package names.
 */
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const out = process.env.HOMEGATE_TEST_MODULE_LOG;

if (out !== undefined && out !== '') {
  register('./module-load-hooks.js', import.meta.url, { data: { out } });
  // CommonJS packages that require one another bypass the hooks on Node 20: watch Module._load too.
  const Module = createRequire(import.meta.url)('node:module') as {
    _load(request: string, parent: unknown, isMain: boolean): unknown;
    _resolveFilename(request: string, parent: unknown, isMain: boolean): string;
  };
  const load = Module._load;
  Module._load = function (this: unknown, request: string, parent: unknown, isMain: boolean) {
    const exported = load.call(this, request, parent, isMain);
    try {
      appendFileSync(out, `${Module._resolveFilename(request, parent, isMain)}\n`);
    } catch {
      // a built-in module or one that cannot be resolved again: not a package file
    }
    return exported;
  };
}
