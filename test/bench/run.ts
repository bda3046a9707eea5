/**
 * `npm run bench`: builds, then prints ONE JSON document on stdout (the
 * card-link benchmark, card-link-bench.ts). Progress and errors go to stderr.
 * For the bare JSON: `npm run -s bench`, or `node dist/test/bench/run.js`.
 */
import { runCardLinkBench } from './card-link-bench.js';

try {
  const result = await runCardLinkBench();
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
} catch (e) {
  process.stderr.write(`bench failed: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exitCode = 1;
}
