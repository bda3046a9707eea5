/**
 * Loaded into a measured process with `node --require <this file>` (bench
 * only; nothing of the gateway knows it). CommonJS, so that preloading it
 * does not start Node's ES module loader in a process that would not
 * otherwise load it (the device's one-file gateway is CommonJS): the probe
 * must not add to what it measures. On SIGUSR2 it appends one JSON line
 * to the file named by HOMEGATE_BENCH_PROBE with what holds the process's
 * memory now: `process.memoryUsage()` (rss, heapTotal, heapUsed, external,
 * arrayBuffers) and V8's heap spaces (used, and resident: what the space holds in RAM). A phase label is read from the
 * file named by HOMEGATE_BENCH_PROBE + '.phase' (the benchmark writes it
 * before it signals), so each line says which phase it measured.
 *
 * With HOMEGATE_BENCH_PROBE_GC=1 and `--expose-gc`, a full GC runs first, so
 * heapUsed is what is live, not what is waiting to be collected.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';

const file = process.env.HOMEGATE_BENCH_PROBE;
const MiB = 1024 * 1024;
const mib = (n: number) => Number((n / MiB).toFixed(1));

if (file) {
  process.on('SIGUSR2', () => {
    let phase = 'unknown';
    try {
      phase = readFileSync(`${file}.phase`, 'utf8').trim();
    } catch {
      // no label written: 'unknown'
    }
    const gc = (globalThis as { gc?: () => void }).gc;
    if (process.env.HOMEGATE_BENCH_PROBE_GC === '1' && gc) gc();
    const m = process.memoryUsage();
    const stats = getHeapSpaceStatistics().filter((s) => s.space_size > 0);
    const spaces = Object.fromEntries(stats.map((s) => [s.space_name, mib(s.space_used_size)]));
    const committed = Object.fromEntries(stats.map((s) => [s.space_name, mib(s.physical_space_size)]));
    const line = {
      phase,
      at: Date.now(),
      memoryMiB: { rss: mib(m.rss), heapTotal: mib(m.heapTotal), heapUsed: mib(m.heapUsed), external: mib(m.external), arrayBuffers: mib(m.arrayBuffers) },
      heapSpacesUsedMiB: spaces,
      heapSpacesResidentMiB: committed,
    };
    appendFileSync(file, `${JSON.stringify(line)}\n`);
  });
}
