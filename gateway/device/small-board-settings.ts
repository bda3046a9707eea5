/**
 * How a flashed board starts Node.js for homegate: the one-file gateway
 * (deploy/one-file/build-one-file.ts) with settings that trade a little CPU
 * for resident memory (docs/PERFORMANCE.md, "Settings for a small board").
 * One place, used by the release's `bin/homegate` (which the service starts)
 * and by the benchmark that measures the gateway as a board runs it.
 *
 * - `--max-semi-space-size=1`: V8's young generation capped at 1 MiB per
 *   semi-space (Node lets each grow to 16 MiB).
 * - `--optimize-for-size`: V8 keeps its heaps compact; `--no-sparkplug`: no
 *   baseline machine code between the interpreter and the optimizing compiler
 *   (≈ 1 MiB less of code and of the executable's pages; the gateway's CPU per
 *   authorization did not measurably change). V8 flags: Node does not accept
 *   them in NODE_OPTIONS, so they are passed on the command line.
 * - `MALLOC_ARENA_MAX=2`: glibc keeps two malloc arenas, not one per thread.
 * - `MALLOC_MMAP_THRESHOLD_=65536`: glibc serves allocations of 64 KiB and
 *   more with their own mapping, given back to the kernel when freed. Without
 *   it, what V8's parser and compiler allocate while the gateway loads stays
 *   in malloc's free lists for the process's life (≈ 11 MiB here).
 */
/** What a board runs: the one-file gateway, relative to the package root (written by `npm run build`). */
export const ONE_FILE = 'dist/homegate.cjs';

/** Node options the environment may override (NODE_OPTIONS). */
export const SMALL_BOARD_NODE_OPTIONS = '--max-semi-space-size=1';
/** V8 flags on the command line, before the script. */
export const SMALL_BOARD_V8_FLAGS: readonly string[] = ['--optimize-for-size', '--no-sparkplug'];
/** glibc's malloc settings, by environment; values already in the environment win. */
export const SMALL_BOARD_MALLOC_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '65536' };
