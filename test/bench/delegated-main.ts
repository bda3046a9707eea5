/**
 * Run the delegated-path benchmark alone and print its JSON:
 *
 *   npx tsc -p . && node dist/test/bench/delegated-main.js
 *
 * Iteration counts: BENCH_DELEGATED_* (see delegated-config.ts).
 */
import { runDelegatedBench } from './delegated-bench.js';

try {
  const result = await runDelegatedBench();
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
} catch (e) {
  process.stderr.write(`delegated bench failed: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exitCode = 1;
}
