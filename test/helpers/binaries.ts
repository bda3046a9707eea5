/**
 * What a suite does when it needs an external program (socat, mosquitto, nginx):
 *
 * - present            → its tests run;
 * - absent, CI set     → its tests FAIL, saying how to install it (a CI image
 *                        missing socat must not pass by skipping the pty suite);
 * - absent, locally    → its tests are reported as skipped, and the reason is
 *                        printed once when the file registers its tests.
 *
 * Usage:
 *   const socat = needsBinary('socat');
 *   socat.test('bytes cross a real pty pair', async (t) => { ... });
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import anyTest, { type Implementation } from 'ava';

/** Registers one test: the ava `test` itself, its skipping variant, or a failing stand-in. */
export type RegisterTest = (title: string, implementation: Implementation<[]>) => void;

export interface BinaryRequirement {
  /** Register tests that need the binary through this, instead of ava's `test`. */
  readonly test: RegisterTest;
  readonly available: boolean;
  /** Why the tests will not run (undefined when available). */
  readonly reason: string | undefined;
}

/** Install hints for the binaries our suites use (Debian/Ubuntu package names). */
const INSTALL_HINTS: Record<string, string> = {
  socat: 'apt-get install -y socat',
  mosquitto: 'apt-get install -y mosquitto',
  nginx: 'apt-get install -y nginx',
  'systemd-analyze': 'apt-get install -y systemd',
  'systemd-notify': 'apt-get install -y systemd',
};

export function needsBinary(name: string, env: NodeJS.ProcessEnv = process.env): BinaryRequirement {
  const available = findOnPath(name, env.PATH ?? '') !== undefined;
  const install = INSTALL_HINTS[name] ?? `apt-get install -y ${name}`;
  const reason = available ? undefined : `${name} is required for this suite; install it with ${install}`;
  if (reason !== undefined && isCi(env)) {
    const failing: RegisterTest = (title) => anyTest(title, (t) => t.fail(reason));
    return { test: failing, available, reason };
  }
  // ava has no skip-with-reason: print the reason when the file registers its tests.
  if (reason !== undefined) console.log(`[skipped] ${reason}`);
  const register: RegisterTest = available ? anyTest : anyTest.skip;
  return { test: register, available, reason };
}

/** CI providers set CI=true (GitHub, GitLab, ...); CI=false or empty means local. */
export function isCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const ci = env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}

/** The executable's full path, searching PATH like a shell; undefined if none. */
export function findOnPath(name: string, searchPath: string): string | undefined {
  for (const dir of searchPath.split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}
