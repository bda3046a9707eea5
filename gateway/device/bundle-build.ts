/**
 * Builds a gateway bundle in a work folder, ready to be installed onto a
 * target (release-install.ts):
 *
 *   <work>/release/              one release, /opt/homegate/releases/<name> on the device
 *     BUNDLE.json                name, version, architecture, Node.js version, build time
 *     node/bin/node              the Node.js runtime for the architecture (node-runtime.ts)
 *     app/                       the compiled gateway (dist/ without tests, bin/, package.json);
 *                                app/dist/homegate.cjs is the one file a board runs
 *       node_modules/            production dependencies, the target's serialport binding only
 *     bin/homegate               the command for the operator (runs the bundled Node.js)
 *     deploy/                    systemd units, udev rule, Mosquitto configuration and ACL,
 *                                first-boot.sh (deploy/install-raspberry-pi.sh)
 *   <work>/state/                the data directory's first content: gateway.json and keys
 *
 * The gateway in the bundle is the one running this command (its own package
 * root): what was tested here is what goes onto the board. Nothing compiles
 * on the device, and nothing in a bundle depends on the board's own Node.js.
 * Modes: files 0600, folders 0700, executables 0700 (file-modes.ts).
 */
import { cp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeviceError } from './device-error.js';
import { type DeviceAnswers, buildDeviceState } from './device-state.js';
import { restrictModes } from './file-modes.js';
import { fetchNodeRuntime, unpackNodeRuntime } from './node-runtime.js';
import { productionNodeModules } from './production-deps.js';
import { ONE_FILE, SMALL_BOARD_MALLOC_ENV, SMALL_BOARD_NODE_OPTIONS, SMALL_BOARD_V8_FLAGS } from './small-board-settings.js';
import { ARCH_TRAITS, type TargetArch } from './target-arch.js';

/** The package this file belongs to (dist/gateway/device/ → three levels up). */
export const OWN_PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export interface BundleManifest {
  name: 'homegate';
  /** package.json's version. */
  version: string;
  /** The release folder's name: `<version>-<UTC build time>`, unique per build, sortable. */
  release: string;
  arch: TargetArch;
  node: string;
  builtAt: string;
}

export interface BuildBundleOptions {
  arch: TargetArch;
  householdDir: string;
  answers: DeviceAnswers;
  /** Where the bundle is assembled (emptied first). */
  workDir: string;
  /** Downloads and installs reused between runs (~/.cache/homegate). */
  cacheDir: string;
  /** Default: this program's own package. */
  packageRoot?: string;
  /** Pin the Node.js version instead of the newest that engines.node allows. */
  nodeVersion?: string;
  /** Default now. */
  now?: Date;
}

export interface BuiltBundle {
  workDir: string;
  releaseDir: string;
  stateDir: string;
  manifest: BundleManifest;
}

/** The deploy/ files that travel (sources stay behind: the sandbox is not part of a gateway). */
const DEPLOY_FILES = [
  ['deploy/systemd/homegate.service', 'deploy/systemd/homegate.service'],
  ['deploy/systemd/homegate-first-boot.service', 'deploy/systemd/homegate-first-boot.service'],
  ['deploy/udev/99-homegate-card.rules', 'deploy/udev/99-homegate-card.rules'],
  ['deploy/mosquitto/homegate.conf', 'deploy/mosquitto/homegate.conf'],
  ['deploy/mosquitto/acl', 'deploy/mosquitto/acl'],
  ['deploy/install-raspberry-pi.sh', 'deploy/first-boot.sh'],
] as const;

const EXECUTABLES = new Set(['node/bin/node', 'bin/homegate', 'deploy/first-boot.sh']);

/**
 * The operator's `homegate` on the device, and what the service starts (ExecStart runs it, so each
 * release decides how it is started and a rollback starts the older release its own way): the
 * bundled Node.js running the one-file gateway, the data directory and the small-board memory
 * settings (small-board-settings.ts), so a gateway run by hand measures as the service does.
 * Values already in the environment win.
 */
const OPERATOR_COMMAND = `#!/bin/sh
# homegate on a flashed gateway: the release's own Node.js, whatever the OS has.
here="$(dirname "$(readlink -f "$0")")/.."
: "\${HOMEGATE_DATA:=/var/lib/homegate}"
# Memory for a small board (docs/PERFORMANCE.md, "Settings for a small board").
: "\${NODE_OPTIONS:=${SMALL_BOARD_NODE_OPTIONS}}"
${Object.entries(SMALL_BOARD_MALLOC_ENV)
  .map(([k, v]) => `: "\${${k}:=${v}}"`)
  .join('\n')}
export HOMEGATE_DATA NODE_OPTIONS ${Object.keys(SMALL_BOARD_MALLOC_ENV).join(' ')}
exec "$here/node/bin/node" ${SMALL_BOARD_V8_FLAGS.join(' ')} "$here/app/${ONE_FILE}" "$@"
`;

export async function buildBundle(o: BuildBundleOptions): Promise<BuiltBundle> {
  const root = o.packageRoot ?? OWN_PACKAGE_ROOT;
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string; engines?: { node?: string } };
  // The answers first: a wrong answer or household folder stops before any download.
  const state = await buildDeviceState(o.householdDir, o.answers);
  await stat(join(root, ONE_FILE)).catch((e: unknown) => {
    throw new DeviceError(
      'invalid',
      `${join(root, ONE_FILE)} is missing: \`npm run build\` writes the one-file gateway a board runs`,
      { packageRoot: root },
      { cause: e },
    );
  });

  const releaseDir = join(o.workDir, 'release');
  const stateDir = join(o.workDir, 'state');
  await rm(o.workDir, { recursive: true, force: true });
  await mkdir(releaseDir, { recursive: true, mode: 0o700 });

  const runtime = await fetchNodeRuntime(o.arch, pkg.engines?.node ?? '>=20.19', o.cacheDir, o.nodeVersion);
  await unpackNodeRuntime(runtime, join(releaseDir, 'node'));

  const app = join(releaseDir, 'app');
  await mkdir(app, { mode: 0o700 });
  for (const f of ['package.json', 'package-lock.json', 'README.md', 'LICENSE']) {
    await cp(join(root, f), join(app, f)).catch(() => undefined);
  }
  await cp(join(root, 'bin'), join(app, 'bin'), { recursive: true });
  await cp(join(root, 'docs'), join(app, 'docs'), { recursive: true }).catch(() => undefined);
  await cp(join(root, 'dist'), join(app, 'dist'), {
    recursive: true,
    filter: (src) => !src.startsWith(join(root, 'dist', 'test')) && !src.endsWith('.tsbuildinfo'),
  });
  const modules = await productionNodeModules(root, o.cacheDir);
  const keep = ARCH_TRAITS[o.arch].serialportPrebuilds;
  await cp(modules, join(app, 'node_modules'), {
    recursive: true,
    filter: (src) => {
      const rel = src.slice(modules.length + 1);
      if (rel === '.bin' || rel.startsWith('.bin/') || rel.startsWith('.package-lock')) return false;
      // Only the target's prebuilt binding: nothing else could load there.
      const m = /(?:^|\/)prebuilds\/([^/]+)/.exec(rel);
      return m === null || m[1] === keep;
    },
  });

  for (const [from, to] of DEPLOY_FILES) {
    await mkdir(dirname(join(releaseDir, to)), { recursive: true, mode: 0o700 });
    await cp(join(root, from), join(releaseDir, to));
  }
  await mkdir(join(releaseDir, 'bin'), { mode: 0o700 });
  await writeFile(join(releaseDir, 'bin', 'homegate'), OPERATOR_COMMAND);

  const now = o.now ?? new Date();
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('.', '');
  const manifest: BundleManifest = {
    name: 'homegate',
    version: pkg.version,
    release: `${pkg.version}-${stamp}`,
    arch: o.arch,
    node: runtime.version,
    builtAt: now.toISOString(),
  };
  await writeFile(join(releaseDir, 'BUNDLE.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await restrictModes(releaseDir, (rel) => EXECUTABLES.has(rel));

  for (const f of state) {
    await mkdir(dirname(join(stateDir, f.path)), { recursive: true, mode: 0o700 });
    await writeFile(join(stateDir, f.path), f.data, { mode: 0o600 });
  }
  await restrictModes(stateDir, () => false);
  return { workDir: o.workDir, releaseDir, stateDir, manifest };
}

/** The user's cache for downloads: $HOMEGATE_CACHE, else $XDG_CACHE_HOME/homegate, else ~/.cache/homegate. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env, home = env.HOME ?? '/root'): string {
  if (env.HOMEGATE_CACHE) return env.HOMEGATE_CACHE;
  return join(env.XDG_CACHE_HOME || join(home, '.cache'), 'homegate');
}
