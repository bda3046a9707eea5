/** The socket section alone: `node dist/test/bench/socket-main.js` (JSON on stdout). */
import { runSocketBench } from './socket-bench.js';

process.stdout.write(`${JSON.stringify(await runSocketBench(), null, 2)}\n`);
