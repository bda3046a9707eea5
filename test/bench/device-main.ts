/**
 * Run the device benchmark alone and print its JSON (progress on stderr):
 *
 *   npx tsc -p . && node dist/test/bench/device-main.js
 */
import { runDeviceBench } from './device-bench.js';

try {
  process.stdout.write(`${JSON.stringify(await runDeviceBench(), null, 2)}\n`);
} catch (e) {
  process.stderr.write(`device bench failed: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exitCode = 1;
}
