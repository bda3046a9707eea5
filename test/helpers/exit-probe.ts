/**
 * Runs a script in a fresh Node process and reports how it ended. Used to
 * prove that close() lets a process exit: ava tears its workers down when the
 * tests are done, so a leaked timer or socket would not hang the test run and
 * would go unnoticed in-process. A child that does not exit within the
 * timeout is killed and reported as `timedOut`.
 */
import { spawn } from 'node:child_process';

/** file: URL of the compiled link layer, for `import` inside probe scripts. */
export const LINK_MODULE_URL = new URL('../../card-io/link/index.js', import.meta.url).href;

export interface ProbeResult {
  code: number | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

/** Runs `source` as an ES module (`node --input-type=module -e`). */
export function runModuleScript(source: string, timeoutMs = 10_000): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', source], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, timedOut, stdout, stderr });
    });
  });
}
