/**
 * The gateway as one CommonJS file, `dist/homegate.cjs`: what a flashed board
 * runs (the release's `bin/homegate` and so the service start it; `npm run
 * build` writes it after `tsc`).
 *
 * Why one file: a board's memory. `gateway run` from `dist/` loads about 600
 * files (our ≈ 280 modules and the packages'): each is a module record, a
 * source string V8 keeps to compile functions lazily, and Node's ES module
 * loader stays resident for them. One minified CommonJS file needs none of
 * that: `gateway run` idles about 15 MiB lower (docs/PERFORMANCE.md,
 * "Memory: one file").
 *
 * What stays outside, loaded from node_modules at run time:
 * - `serialport`: its native binding is found next to the package
 *   (node-gyp-build), so it cannot move;
 * - what only an optional feature loads, so its source is not held by a
 *   gateway without it: the panel (johnny-five), pairing and certificates
 *   (@peculiar/*, reflect-metadata), SMTP (nodemailer), the embedded broker
 *   (aedes), mDNS, QR codes, and the card emulator's curves.
 *
 * Left out, as never used by homegate, so their source is not held either:
 * zod's translations of its messages other than English (`z.locales`), and
 * the SOCKS client MQTT.js carries for its `socksProxy` option (homegate's
 * configuration has none): using either fails with a clear error.
 *
 * `import.meta.url` is rewritten per module to the URL the module has in
 * `dist/`, so files found relative to it (package.json, the shipped ACL)
 * are where they are in the package. Names are minified too (esbuild's
 * `keepNames` would give every function an own `name` property: ≈ 1 MiB of
 * heap); nothing of homegate reads a class's name (errors carry a `code`,
 * logs carry messages), only a crash's stack trace shows the short names.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ONE_FILE } from '../../gateway/device/small-board-settings.js';

export { ONE_FILE };

/** The package this file belongs to (dist/deploy/one-file/ → three levels up). */
export const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Packages loaded from node_modules at run time (see above). */
export const EXTERNAL_PACKAGES = [
  'serialport',
  '@serialport/*',
  'johnny-five',
  '@peculiar/*',
  'reflect-metadata',
  'tsyringe',
  'nodemailer',
  'aedes',
  'multicast-dns',
  'qrcode-generator',
  '@noble/*',
];

/** Modules replaced by a small stand-in (see above): zod's locale index, the `socks` package. */
const leftOut: import('esbuild').Plugin = {
  name: 'left-out',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[/\\]zod[/\\]v4[/\\](classic|core)[/\\]/.test(args.importer)
        ? { path: join(dirname(args.importer), '../locales/en.js'), namespace: 'zod-english-only' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'zod-english-only' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(args.path)};`,
      loader: 'js',
      resolveDir: dirname(args.path),
    }));
    build.onResolve({ filter: /^socks$/ }, () => ({ path: 'socks', namespace: 'no-socks' }));
    build.onLoad({ filter: /.*/, namespace: 'no-socks' }, () => ({
      contents: `exports.SocksClient = { createConnection() { throw new Error('homegate: MQTT over a SOCKS proxy is not supported'); } };`,
      loader: 'js',
    }));
  },
};

export interface OneFileResult {
  file: string;
  bytes: number;
}

/** Bundles dist/gateway/cli/main.js of `packageRoot` into `<packageRoot>/dist/homegate.cjs`. */
export async function buildOneFile(packageRoot = PACKAGE_ROOT): Promise<OneFileResult> {
  // esbuild is a development dependency: imported only here, at build time.
  const esbuild = await import('esbuild');
  const outfile = join(packageRoot, ONE_FILE);
  const dist = join(packageRoot, 'dist');
  const keepModuleUrls: import('esbuild').Plugin = {
    name: 'keep-module-urls',
    setup(build) {
      build.onLoad({ filter: /\.js$/ }, async (args) => {
        if (!args.path.startsWith(`${dist}/`)) return undefined;
        const text = await readFile(args.path, 'utf8');
        if (!text.includes('import.meta.url')) return undefined;
        const own = JSON.stringify(relative(dirname(outfile), args.path));
        const url = `require("node:url").pathToFileURL(require("node:path").join(__dirname, ${own})).href`;
        return { contents: text.replaceAll('import.meta.url', url), loader: 'js', resolveDir: dirname(args.path) };
      });
    },
  };
  const result = await esbuild.build({
    entryPoints: [join(dist, 'gateway/cli/main.js')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    minify: true,
    legalComments: 'none',
    external: EXTERNAL_PACKAGES,
    plugins: [keepModuleUrls, leftOut],
    metafile: true,
    logLevel: 'warning',
  });
  const bytes = result.metafile.outputs[relative(process.cwd(), outfile)]?.bytes ?? Object.values(result.metafile.outputs)[0]?.bytes ?? 0;
  return { file: outfile, bytes };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { file, bytes } = await buildOneFile();
  process.stdout.write(`${relative(process.cwd(), file)}: ${(bytes / 1024).toFixed(0)} KiB\n`);
}
