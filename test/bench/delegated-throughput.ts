/**
 * Proxied authorizations per second with C concurrent terminals: each of
 * the first C terminals (already unlocked with PIN1) loops POST
 * /v1/authorize for a fixed duration; a terminal starts no new request after
 * the deadline, and the rate is completed authorizations over the time until
 * the last one finished. The gateway child's RSS is sampled meanwhile, and
 * the CPU each process used per authorization is reported: the terminals
 * (this process), the gateway child (gateway + in-process sandbox market)
 * and the card emulator (the child's child).
 */
import { findChildPid, cpuMsSince, msSince, readProcCpuMs, readProcMemory, round, sampleRss, summarize, type Summary } from './delegated-stats.js';
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
  cpuMsPerAuthorization: { terminals: number; gatewayAndMarket: number; cardEmulator: number | null };
}

function errorCode(e: unknown): string {
  const err = e as { gateway?: { code?: string }; code?: unknown; message?: string };
  return err.gateway?.code ?? (typeof err.code === 'string' ? err.code : (err.message ?? 'error').slice(0, 60));
}

export async function runLoadLevel(
  terminals: BenchTerminal[],
  concurrency: number,
  seconds: number,
  gatewayPid: number,
  rssSampleMs: number,
): Promise<LoadLevel> {
  if (terminals.length < concurrency) throw new Error(`need ${concurrency} terminals, have ${terminals.length}`);
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  const sampler = sampleRss(gatewayPid, rssSampleMs);
  const emulatorPid = findChildPid(gatewayPid, 'emulate');
  const cpu0 = { terminals: process.cpuUsage(), gateway: readProcCpuMs(gatewayPid), emulator: emulatorPid ? readProcCpuMs(emulatorPid) : NaN };
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
    gatewayAndMarket: round((readProcCpuMs(gatewayPid) - cpu0.gateway) / n, 2),
    cardEmulator: emulatorPid ? round((readProcCpuMs(emulatorPid) - cpu0.emulator) / n, 2) : null,
  };
  return {
    concurrency,
    authorizations: latencies.length,
    seconds: round(elapsed, 2),
    perSecond: round(latencies.length / elapsed, 1),
    latencyMs: summarize(latencies),
    errors,
    gatewayRss: { ...rss, hwmSinceStartMiB: readProcMemory(gatewayPid).hwmMiB },
    cpuMsPerAuthorization,
  };
}
