/**
 * Run the purse benchmark alone and print its JSON (progress on stderr):
 *
 *   npx tsc -p . && node dist/test/bench/purse-bench.js
 *
 * Environment: see purse-measure.ts (HOMEGATE_BENCH_PAYMENTS, default 50).
 */
import { runPurseBench } from './purse-measure.js';

try {
  const result = await runPurseBench();
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
} catch (e) {
  process.stderr.write(`purse bench failed: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exitCode = 1;
}
