/**
 * Benchmark of the delegated path against the sandbox market, all on
 * loopback, in one run (counts: delegated-config.ts):
 *
 * 1. latency (median, p99) and terminal CPU per connection: a terminal's
 *    DIRECT full mutual-TLS 1.3 handshake + GET /whoami vs the DELEGATED path
 *    (POST /v1/authorize with PIN2 + resumption + GET /whoami), and ratios;
 * 2. proxied authorizations per second with 1, 8 and 32 terminals;
 * 3. card operations (APDUs) per authorization (in-process, see delegated-card-ops.ts);
 * 4. the gateway's resident memory idle and under the 32-terminal load;
 * 5. 2–4 again with proxy.reuseSessionCertificate true;
 * 6. where one authorization's time goes, stage by stage (delegated-stages.ts);
 * 7. the terminal's resumption + GET with a kept TLS context vs one per
 *    connection, A/B (delegated-resumption.ts).
 *
 * The household runs split (split-household.ts): the gateway alone
 * (`homegate gateway run`), the market and broker in a process of their own,
 * the card emulator in its own: this process is only the terminal(s), so
 * the gateway's CPU and memory are reported apart from the market's and the
 * card's. Returns one JSON-ready object; the caller prints it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SANDBOX_PORTS, type SandboxPorts } from '../../deploy/sandbox/household/household.js';
import { freePort } from '../helpers/link-probes.js';
import { measureCardOps } from './delegated-card-ops.js';
import { prepareSandboxData } from './delegated-child.js';
import { type BenchCardLine, startSplitHousehold } from './split-household.js';
import { readDelegatedBenchConfig, type DelegatedBenchConfig } from './delegated-config.js';
import { createDirectTerminal } from './delegated-direct.js';
import { measureLatency, type LatencyFigures } from './delegated-latency.js';
import { measureResumption, type ResumptionFigures } from './delegated-resumption.js';
import { measureStages } from './delegated-stages.js';
import { readProcMemory, round } from './delegated-stats.js';
import { ensureTerminals, loadTerminals, unlockAll } from './delegated-terminals.js';
import { runLoadLevel, type LoadLevel } from './delegated-throughput.js';

interface GatewayPhase {
  reuseSessionCertificate: boolean;
  latency: LatencyFigures;
  /** The terminal's resumption + GET, kept context vs a context per connection (only in the phase with the direct baseline). */
  resumption?: ResumptionFigures;
  throughput: LoadLevel[];
  gatewayMemoryMiB: { idleRss: number; underMaxLoadRssMax: number | null; underMaxLoadRssMean: number | null; afterLoadRss: number; hwmSinceStart: number };
}

/** A distinct free port for each port the sandbox household has (card, gateway, market, ...). */
async function distinctFreePorts(): Promise<SandboxPorts> {
  const names = Object.keys(DEFAULT_SANDBOX_PORTS);
  const seen = new Set<number>();
  while (seen.size < names.length) seen.add(await freePort());
  const free = [...seen];
  return Object.fromEntries(names.map((name, i) => [name, free[i]])) as unknown as SandboxPorts;
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function gatewayPhase(
  dataDir: string,
  ports: SandboxPorts,
  cfg: DelegatedBenchConfig,
  reuse: boolean,
  withDirect: boolean,
  cardLine: BenchCardLine,
): Promise<GatewayPhase> {
  const household = await startSplitHousehold(dataDir, ports, reuse, undefined, cardLine);
  const pids = { gateway: household.gatewayPid, market: household.peersPid, emulator: household.emulatorPid };
  try {
    await settle(500);
    const idle = readProcMemory(pids.gateway);
    const maxConcurrency = Math.max(...cfg.concurrency);
    const terminals = await loadTerminals(await ensureTerminals(dataDir, maxConcurrency));
    await unlockAll(terminals);
    const direct = withDirect ? await createDirectTerminal(dataDir) : undefined;
    const latency = await measureLatency({ direct, terminal: terminals[0]!, marketPort: ports.market, iterations: cfg.latencyIterations, warmup: cfg.warmup });
    const resumption = withDirect ? await measureResumption(terminals[0]!, cfg.latencyIterations, cfg.warmup) : undefined;
    const throughput: LoadLevel[] = [];
    for (const c of cfg.concurrency) throughput.push(await runLoadLevel(terminals, c, cfg.throughputSeconds, pids, cfg.rssSampleMs));
    await settle(500);
    const after = readProcMemory(pids.gateway);
    const atMax = throughput.find((l) => l.concurrency === maxConcurrency);
    return {
      reuseSessionCertificate: reuse,
      latency,
      ...(resumption ? { resumption } : {}),
      throughput,
      gatewayMemoryMiB: {
        idleRss: idle.rssMiB,
        underMaxLoadRssMax: atMax?.gatewayRss.maxMiB ?? null,
        underMaxLoadRssMean: atMax?.gatewayRss.meanMiB ?? null,
        afterLoadRss: after.rssMiB,
        hwmSinceStart: after.hwmMiB,
      },
    };
  } finally {
    await household.stop();
  }
}

export async function runDelegatedBench(): Promise<object> {
  const cfg = readDelegatedBenchConfig();
  const started = process.hrtime.bigint();
  const loadAtStart = loadavg().map((x) => round(x, 2));
  const dataDir = await mkdtemp(join(tmpdir(), 'homegate-delegated-bench-'));
  try {
    const ports = await distinctFreePorts();
    await prepareSandboxData(dataDir, ports);
    const plain = await gatewayPhase(dataDir, ports, cfg, false, true, cfg.cardLine);
    const reused = await gatewayPhase(dataDir, ports, cfg, true, false, cfg.cardLine);
    const cardOpsPlain = await measureCardOps(dataDir, ports, false, cfg.cardOpsIterations);
    const cardOpsReused = await measureCardOps(dataDir, ports, true, cfg.cardOpsIterations);
    const stagesPlain = await measureStages(dataDir, ports, false, cfg.stagesIterations, cfg.warmup, cfg.cardLine);
    const stagesReused = await measureStages(dataDir, ports, true, cfg.stagesIterations, cfg.warmup, cfg.cardLine);
    // The same reuse-off figures with the card on a bare line (T=1 defaults, IFSC 32), for the comparison.
    const bare = cfg.compareBareLine
      ? {
          phase: await gatewayPhase(dataDir, ports, cfg, false, true, 'bare'),
          stages: await measureStages(dataDir, ports, false, cfg.stagesIterations, cfg.warmup, 'bare'),
        }
      : undefined;
    const perSecond = (p: GatewayPhase) => Object.fromEntries(p.throughput.map((l) => [String(l.concurrency), l.perSecond]));
    return {
      benchmark: 'delegated-path',
      environment: {
        node: process.version,
        platform: `${process.platform}/${process.arch}`,
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? null,
        loadAverage1m5m15m: { atStart: loadAtStart, atEnd: loadavg().map((x) => round(x, 2)) },
      },
      setup:
        'all on loopback, one process each: the card emulator (TCP line), the sandbox market with the MQTT broker, and the gateway alone (`homegate ' +
        'gateway run`); this process is the terminal(s). ' +
        'Terminal CPU = process.cpuUsage() of this process around the terminal-side work. Gateway, market and card CPU per authorization = ' +
        '/proc/<pid>/stat of each process over a load level. Gateway memory = VmRSS of `gateway run` alone. ' +
        'Card operations are counted in a separate in-process run (gateway.cards.commandCount); the stage breakdown runs the gateway in this ' +
        'process with a stage trace. With n latency samples, p99 is the max unless n >= 100. cardLine socket: the card behind a virtual ' +
        "card socket (the gateway resets it and takes T=1's IFSC 254, EDC and BWT from its ATR); bare: a bare line, T=1 defaults (IFSC 32).",
      cardLine: cfg.cardLine,
      config: { ...cfg, dataDir: cfg.keepData ? dataDir : undefined },
      summary: {
        latencyMedianMs: {
          direct: plain.latency.direct?.latencyMs.median,
          directKeptContext: plain.latency.directKeptContext?.latencyMs.median,
          delegated: plain.latency.delegated.latencyMs.median,
          delegatedReuse: reused.latency.delegated.latencyMs.median,
        },
        latencyP99Ms: {
          direct: plain.latency.direct?.latencyMs.p99,
          directKeptContext: plain.latency.directKeptContext?.latencyMs.p99,
          delegated: plain.latency.delegated.latencyMs.p99,
          delegatedReuse: reused.latency.delegated.latencyMs.p99,
        },
        terminalCpuMsPerConnectionMean: {
          direct: plain.latency.direct?.terminalCpuMsPerConnection.mean,
          directKeptContext: plain.latency.directKeptContext?.terminalCpuMsPerConnection.mean,
          delegated: plain.latency.delegated.terminalCpuMsPerConnection.mean,
        },
        ratiosDelegatedOverDirect: plain.latency.ratios,
        ratiosDelegatedOverDirectKeptContext: plain.latency.ratiosKeptContext,
        terminalResumptionCpuMsMean: {
          keptContext: plain.resumption?.keptContextCpuMs.mean,
          contextPerConnection: plain.resumption?.contextPerConnectionCpuMs.mean,
          ratio: plain.resumption?.ratioMean,
        },
        authorizationsPerSecond: { reuseSessionCertificateFalse: perSecond(plain), reuseSessionCertificateTrue: perSecond(reused) },
        cpuMsPerAuthorizationAtMaxConcurrency: {
          reuseSessionCertificateFalse: plain.throughput.at(-1)?.cpuMsPerAuthorization,
          reuseSessionCertificateTrue: reused.throughput.at(-1)?.cpuMsPerAuthorization,
        },
        gatewayCpuMsPerAuthorizationTraced: {
          reuseSessionCertificateFalse: stagesPlain.gatewayCpuMsPerAuthorization,
          reuseSessionCertificateTrue: stagesReused.gatewayCpuMsPerAuthorization,
        },
        apdusPerAuthorization: {
          reuseSessionCertificateFalse: {
            sameTerminal: cardOpsPlain.apdusPerAuthorizationSameTerminal,
            alternatingTerminals: cardOpsPlain.apdusPerAuthorizationAlternatingTerminals,
          },
          reuseSessionCertificateTrue: {
            sameTerminal: cardOpsReused.apdusPerAuthorizationSameTerminal,
            alternatingTerminals: cardOpsReused.apdusPerAuthorizationAlternatingTerminals,
          },
        },
        gatewayRssMiB: {
          reuseSessionCertificateFalse: { idle: plain.gatewayMemoryMiB.idleRss, underMaxLoadMax: plain.gatewayMemoryMiB.underMaxLoadRssMax },
          reuseSessionCertificateTrue: { idle: reused.gatewayMemoryMiB.idleRss, underMaxLoadMax: reused.gatewayMemoryMiB.underMaxLoadRssMax },
        },
      },
      ...(bare
        ? {
            bareCardLineReuseSessionCertificateFalse: {
              latencyMedianMs: { direct: bare.phase.latency.direct?.latencyMs.median, delegated: bare.phase.latency.delegated.latencyMs.median },
              ratiosDelegatedOverDirect: bare.phase.latency.ratios,
              authorizationsPerSecond: perSecond(bare.phase),
              cpuMsPerAuthorizationAtMaxConcurrency: bare.phase.throughput.at(-1)?.cpuMsPerAuthorization,
              gatewayCpuMsPerAuthorizationTraced: bare.stages.gatewayCpuMsPerAuthorization,
              ...bare.phase,
              stages: bare.stages,
            },
          }
        : {}),
      reuseSessionCertificateFalse: { ...plain, cardOps: cardOpsPlain, stages: stagesPlain },
      reuseSessionCertificateTrue: { ...reused, cardOps: cardOpsReused, stages: stagesReused },
      totalSeconds: round(Number(process.hrtime.bigint() - started) / 1e9, 1),
    };
  } finally {
    if (!cfg.keepData) await rm(dataDir, { recursive: true, force: true });
  }
}
