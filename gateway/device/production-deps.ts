/**
 * The gateway's production dependencies for a bundle: `npm ci --omit=dev
 * --ignore-scripts` from the package's own lockfile, so the device gets
 * exactly the tested versions and no install script runs (nothing is
 * compiled, on the device or here). The result is cached per lockfile
 * (`<cache>/deps/<sha256 of package-lock.json>/node_modules`), built in a
 * temporary folder and renamed into place, so an interrupted install is never
 * mistaken for a finished one, and a folder in place is never replaced (two
 * flashes at once may share it).
 *
 * Native code: the one native module, `@serialport/bindings-cpp`, ships
 * prebuilt bindings for every platform under `prebuilds/<platform>-<arch>/`
 * (node-gyp-build finds them at run time); a bundle keeps only its target's
 * folder (bundle-build.ts).
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isErrno } from '../../card-io/base/durable/atomic-file.js';
import { DeviceError } from './device-error.js';
import { runTool } from './run-tool.js';

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** The cached node_modules folder for the lockfile of `packageRoot`, installed if missing. */
export async function productionNodeModules(packageRoot: string, cacheDir: string): Promise<string> {
  const lock = await readFile(join(packageRoot, 'package-lock.json')).catch((e: unknown) => {
    throw new DeviceError(
      'invalid',
      `${packageRoot} has no package-lock.json: provision device runs from a checkout of homegate (npm ci), whose lockfile pins the dependencies a board gets`,
      { packageRoot },
      { cause: e },
    );
  });
  const pkg = await readFile(join(packageRoot, 'package.json'));
  const key = createHash('sha256').update(lock).update(pkg).digest('hex').slice(0, 16);
  const done = join(cacheDir, 'deps', key);
  if (await exists(join(done, 'node_modules'))) return join(done, 'node_modules');
  const work = `${done}.partial-${process.pid}`;
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true, mode: 0o700 });
  await copyFile(join(packageRoot, 'package.json'), join(work, 'package.json'));
  await copyFile(join(packageRoot, 'package-lock.json'), join(work, 'package-lock.json'));
  await runTool('npm', ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: work });
  try {
    await rename(work, done);
  } catch (e) {
    // Another flash (a parallel test, a second terminal) finished first: theirs is as good, and may be in use.
    if (!isErrno(e, 'ENOTEMPTY') && !isErrno(e, 'EEXIST')) throw e;
    await rm(work, { recursive: true, force: true });
  }
  return join(done, 'node_modules');
}
