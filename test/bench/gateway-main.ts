/**
 * Run the `gateway` section (gateway-bench.ts) alone and print its JSON:
 *
 *   npx tsc -p . && node dist/test/bench/gateway-main.js
 */
import { runGatewayBench } from './gateway-bench.js';

try {
  process.stdout.write(`${JSON.stringify(await runGatewayBench(), null, 2)}\n`);
} catch (e) {
  process.stderr.write(`gateway bench failed: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exitCode = 1;
}
