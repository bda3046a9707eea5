/**
 * `gateway` section of `npm run bench` (issue 9): the gateway ALONE
 * (`homegate gateway run`, split-household.ts), its start-up and its memory.
 *
 * - start-up, from the spawn of the gateway process: to its `ready` line, to
 *   the retained `online` it publishes on the broker, and to the first
 *   authorization served (a terminal unlocks with PIN1 and authorizes with
 *   PIN2 as soon as the gateway is ready); several starts, median and max;
 * - memory by phase (memory-probe.ts: a full GC first, then
 *   `process.memoryUsage()` and V8's heap spaces): idle after start, with
 *   32 terminals unlocked, right after a 32-terminal load, and after it
 *   settled; RSS sampled during the load;
 * - the same memory run with the first small-board settings (docs/PERFORMANCE.md):
 *   `--max-semi-space-size=1` (V8's young generation capped at 1 MiB per
 *   semi-space) and MALLOC_ARENA_MAX=2 (glibc keeps two malloc arenas, not one
 *   per thread);
 * - the gateway as a flashed board runs it (`memoryAsOnBoard`, start-up too):
 *   the one-file gateway (dist/homegate.cjs) with the settings of
 *   gateway/device/small-board-settings.ts, exactly what the release's
 *   `bin/homegate` passes.
 *
 * Env: BENCH_GATEWAY_STARTS (default 3), BENCH_GATEWAY_LOAD_SECONDS (default 4).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/link-probes.js';
import { prepareSandboxData } from './delegated-child.js';
import { readProcMemory, round, summarize } from './delegated-stats.js';
import { authorize, ensureTerminals, loadTerminals, unlockAll } from './delegated-terminals.js';
import { runLoadLevel } from './delegated-throughput.js';
import { startSplitHousehold } from './split-household.js';
import { SMALL_BOARD_MALLOC_ENV, SMALL_BOARD_NODE_OPTIONS, SMALL_BOARD_V8_FLAGS } from '../../gateway/device/small-board-settings.js';
import type { SandboxPorts } from '../../deploy/sandbox/household/household.js';

const TERMINALS = 32;
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

function envInt(name: string, fallback: number): number {
  const n = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new Error(`${name} must be an integer 1..1000`);
  return n;
}

async function ports(): Promise<SandboxPorts> {
  const seen = new Set<number>();
  while (seen.size < 5) seen.add(await freePort());
  const [card, gateway, market, issuer, mqtt] = [...seen] as [number, number, number, number, number];
  return { card, gateway, market, issuer, mqtt };
}

/** The gateway's extra Node flags and environment for one run (children inherit this process's environment while they start). */
interface RunSettings {
  nodeArgs: string;
  env: Record<string, string>;
}

/**
 * The gateway's resident memory split as the kernel counts it (/proc/<pid>/status): `anonMiB`, its
 * own (heap, malloc, stacks), and `fileMiB`, pages of files it maps, almost all the node executable
 * (its code, built-in JavaScript and ICU data): shared with every other Node process and reclaimable.
 * A bare Node 20 process here: about 6 anon + 34 file.
 */
function rssSplit(pid: number): { anonMiB: number; fileMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { anonMiB: round(kib('RssAnon') / 1024, 1), fileMiB: round(kib('RssFile') / 1024, 1) };
}

/** Node's defaults, the compiled modules. */
const DEFAULTS: RunSettings = { nodeArgs: '', env: {} };
/** The first small-board settings (before the one-file gateway), on the compiled modules. */
const FIRST_SMALL_BOARD_SETTINGS: RunSettings = { nodeArgs: '--max-semi-space-size=1', env: { MALLOC_ARENA_MAX: '2' } };
/** As a flashed board starts it: what the release's bin/homegate passes. */
const AS_ON_BOARD: RunSettings = {
  nodeArgs: [SMALL_BOARD_NODE_OPTIONS, ...SMALL_BOARD_V8_FLAGS].join(' '),
  env: { ...SMALL_BOARD_MALLOC_ENV, BENCH_GATEWAY_ENTRY: 'one-file' },
};

/** Runs `start` with the gateway's Node flags and environment set (children inherit them while they start). */
async function withSettings<T>(settings: RunSettings, start: () => Promise<T>): Promise<T> {
  const names = ['BENCH_GATEWAY_NODE_ARGS', 'BENCH_GATEWAY_ENTRY', ...Object.keys(settings.env)];
  const saved = Object.fromEntries(names.map((n) => [n, process.env[n]]));
  Object.assign(process.env, { BENCH_GATEWAY_NODE_ARGS: settings.nodeArgs, BENCH_GATEWAY_ENTRY: 'dist', ...settings.env });
  try {
    return await start();
  } finally {
    for (const n of names) {
      if (saved[n] === undefined) delete process.env[n];
      else process.env[n] = saved[n];
    }
  }
}

async function memoryRun(dataDir: string, p: SandboxPorts, loadSeconds: number, settings: RunSettings): Promise<Record<string, unknown>> {
  const household = await withSettings(settings, () => startSplitHousehold(dataDir, p, false));
  try {
    await settle(1000);
    const idle = await household.probe('idle');
    const idleSplit = rssSplit(household.gatewayPid);
    const terminals = await loadTerminals(await ensureTerminals(dataDir, TERMINALS));
    await unlockAll(terminals);
    const unlocked = await household.probe('32-terminals-unlocked');
    const pids = { gateway: household.gatewayPid, market: household.peersPid, emulator: household.emulatorPid };
    const load = await runLoadLevel(terminals, TERMINALS, loadSeconds, pids, 100);
    const afterLoad = await household.probe('right-after-load');
    for (const t of terminals) t.card.close();
    await settle(5000);
    const settled = await household.probe('5s-after-load');
    const settledSplit = rssSplit(household.gatewayPid);
    return {
      nodeArgs: settings.nodeArgs || '(none)',
      env: settings.env,
      rssMiB: {
        idle: (idle.memoryMiB as { rss: number }).rss,
        under32TerminalsMax: load.gatewayRss.maxMiB,
        under32TerminalsMean: load.gatewayRss.meanMiB,
        afterLoadSettled: readProcMemory(household.gatewayPid).rssMiB,
        hwmSinceStart: readProcMemory(household.gatewayPid).hwmMiB,
      },
      rssSplitMiB: { idle: idleSplit, afterLoadSettled: settledSplit },
      authorizationsPerSecondDuringLoad: load.perSecond,
      // What the settings cost: V8's smaller young generation means more scavenges, paid in CPU per authorization.
      gatewayCpuMsPerAuthorizationDuringLoad: load.cpuMsPerAuthorization.gateway,
      phases: [idle, unlocked, afterLoad, settled],
    };
  } finally {
    await household.stop();
  }
}

export async function runGatewayBench(): Promise<object> {
  const starts = envInt('BENCH_GATEWAY_STARTS', 3);
  const loadSeconds = envInt('BENCH_GATEWAY_LOAD_SECONDS', 4);
  const dataDir = await mkdtemp(join(tmpdir(), 'homegate-gateway-bench-'));
  try {
    const p = await ports();
    await prepareSandboxData(dataDir, p);
    // Terminals are enrolled once, on a first start that is not measured.
    const first = await startSplitHousehold(dataDir, p, false);
    await ensureTerminals(dataDir, TERMINALS);
    await first.stop();

    const [t1] = await loadTerminals(await ensureTerminals(dataDir, 1));
    const stat = (xs: number[]) => {
      const s = summarize(xs);
      return { median: round(s.median, 0), max: round(s.max, 0) };
    };
    const startup = async (settings: RunSettings) => {
      const samples: Array<{ toReadyMs: number; toOnlineMs: number; toFirstUseMs: number | null; cpuMsToReady: number }> = [];
      for (let i = 0; i < starts; i++) {
        const household = await withSettings(settings, () =>
          startSplitHousehold(dataDir, p, false, async () => {
            await t1!.card.unlock();
            await authorize(t1!);
          }),
        );
        samples.push(household.startup);
        await household.stop();
      }
      return {
        starts,
        toReady: stat(samples.map((s) => s.toReadyMs)),
        toRetainedOnline: stat(samples.map((s) => s.toOnlineMs)),
        toFirstAuthorizationServed: stat(samples.map((s) => s.toFirstUseMs ?? Number.NaN)),
        gatewayCpuToReady: stat(samples.map((s) => s.cpuMsToReady)),
      };
    };
    const startupMs = await startup(DEFAULTS);
    const startupMsAsOnBoard = await startup(AS_ON_BOARD);
    t1!.card.close();
    return {
      benchmark: 'gateway-alone',
      setup:
        '`homegate gateway run` alone in its own process (the card emulator, and the sandbox market with the MQTT broker, in processes of their own); ' +
        'times from the spawn of the gateway process (Node start-up included); memory from a probe preloaded with --require (bench only) after a full GC. ' +
        '`startupMs`, `memory`, `memorySmallBoardSettings`: the compiled modules (bin/homegate.js); `startupMsAsOnBoard`, `memoryAsOnBoard`: the one-file gateway ' +
        'with the settings a flashed board starts it with (gateway/device/small-board-settings.ts).',
      startupMs,
      startupMsAsOnBoard,
      memory: await memoryRun(dataDir, p, loadSeconds, DEFAULTS),
      memorySmallBoardSettings: await memoryRun(dataDir, p, loadSeconds, FIRST_SMALL_BOARD_SETTINGS),
      memoryAsOnBoard: await memoryRun(dataDir, p, loadSeconds, AS_ON_BOARD),
    };
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}
