/**
 * Proxied authorizations per second with C concurrent terminals: each of
 * the first C terminals (already unlocked with PIN1) loops POST
 * /v1/authorize for a fixed duration; a terminal starts no new request after
 * the deadline, and the rate is completed authorizations over the time until
 * the last one finished. The gateway's RSS is sampled meanwhile, and the
 * CPU each process used per authorization is reported: the terminals (this
 * process), the gateway (`gateway run` alone), the market (the peers
 * process: market and broker) and the card emulator (split-household.ts).
 */
import { cpuMsSince, msSince, readProcCpuMs, readProcMemory, round, sampleRss, summarize, type Summary } from './delegated-stats.js';
import { authorize, type BenchTerminal } from './delegated-terminals.js';

export interface LoadLevel {
  concurrency: number;
  authorizations: number;
  seconds: number;
  perSecond: number;
  /** Time of one authorization as each terminal saw it (includes waiting for the card). */
  latencyMs: Summary;
  /** Failed authorizations by error code (none expected). */
  errors: Record<string, number>;
  gatewayRss: { samples: number; maxMiB: number; meanMiB: number; hwmSinceStartMiB: number };
  cpuMsPerAuthorization: { terminals: number; gateway: number; market: number; cardEmulator: number };
}

/** The processes whose CPU is counted apart. */
export interface LoadPids {
  gateway: number;
  /** The peers process: the sandbox market and the MQTT broker. */
  market: number;
  emulator: number;
}

function errorCode(e: unknown): string {
  const err = e as { gateway?: { code?: string }; code?: unknown; message?: string };
  return err.gateway?.code ?? (typeof err.code === 'string' ? err.code : (err.message ?? 'error').slice(0, 60));
}

export async function runLoadLevel(terminals: BenchTerminal[], concurrency: number, seconds: number, pids: LoadPids, rssSampleMs: number): Promise<LoadLevel> {
  if (terminals.length < concurrency) throw new Error(`need ${concurrency} terminals, have ${terminals.length}`);
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  const sampler = sampleRss(pids.gateway, rssSampleMs);
  const cpu0 = {
    terminals: process.cpuUsage(),
    gateway: readProcCpuMs(pids.gateway),
    market: readProcCpuMs(pids.market),
    emulator: readProcCpuMs(pids.emulator),
  };
  const t0 = process.hrtime.bigint();
  const deadline = Date.now() + seconds * 1000;
  await Promise.all(
    terminals.slice(0, concurrency).map(async (t) => {
      while (Date.now() < deadline) {
        const a0 = process.hrtime.bigint();
        try {
          await authorize(t);
          latencies.push(msSince(a0));
        } catch (e) {
          const code = errorCode(e);
          errors[code] = (errors[code] ?? 0) + 1;
          await new Promise((r) => setTimeout(r, 50)); // do not spin on a persistent error
        }
      }
    }),
  );
  const elapsed = msSince(t0) / 1000;
  const rss = sampler.stop();
  const n = latencies.length || 1;
  const cpuMsPerAuthorization = {
    terminals: round(cpuMsSince(cpu0.terminals) / n, 2),
    gateway: round((readProcCpuMs(pids.gateway) - cpu0.gateway) / n, 2),
    market: round((readProcCpuMs(pids.market) - cpu0.market) / n, 2),
    cardEmulator: round((readProcCpuMs(pids.emulator) - cpu0.emulator) / n, 2),
  };
  return {
    concurrency,
    authorizations: latencies.length,
    seconds: round(elapsed, 2),
    perSecond: round(latencies.length / elapsed, 1),
    latencyMs: summarize(latencies),
    errors,
    gatewayRss: { ...rss, hwmSinceStartMiB: readProcMemory(pids.gateway).hwmMiB },
    cpuMsPerAuthorization,
  };
}
