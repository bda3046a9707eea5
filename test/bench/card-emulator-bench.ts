/**
 * Run the card emulator CPU section alone and print its JSON:
 *
 *   npx tsc -p . && node dist/test/bench/card-emulator-bench.js
 *
 * Environment: HOMEGATE_BENCH_CARD_AUTHORIZATIONS (default 200).
 */
import { runCardEmulatorBench } from './card-emulator-cpu.js';

try {
  process.stdout.write(`${JSON.stringify(await runCardEmulatorBench(), null, 2)}\n`);
} catch (e) {
  process.stderr.write(`card emulator bench failed: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exitCode = 1;
}
