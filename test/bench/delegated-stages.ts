/**
 * Where one authorization's time goes (issue 9): the gateway runs IN this
 * process with a stage trace (gateway/trace/authorization-trace.ts), the
 * card emulator and the market in their own processes (split-household.ts),
 * and one terminal authorizes again and again, one at a time.
 *
 * Per stage: wall time (median, mean) and the CPU this process used during
 * it (mean). The terminal shares this process but waits while the gateway
 * works on its request, so a stage's CPU is the gateway's. Stages nest:
 * `terminal-request` is the whole request; `other` is what it holds beyond
 * the named stages (HTTP parsing, routing, the registry, awaiting). The card
 * emulator's CPU is read from its own process and reported apart.
 */
import { join } from 'node:path';
import { silentLogger } from '../../card-io/base/log.js';
import type { SandboxPorts } from '../../deploy/sandbox/household/household.js';
import { loadGatewayConfig } from '../../gateway/config/gateway-config.js';
import { startGateway } from '../../gateway/gateway.js';
import type { AuthorizationStage, StageSample } from '../../gateway/trace/authorization-trace.js';
import { readProcCpuMs, round, summarize } from './delegated-stats.js';
import { authorize, loadTerminals, terminalName } from './delegated-terminals.js';
import { type BenchCardLine, startGatewayPeers, writeBenchGatewayConfig } from './split-household.js';

export interface StageFigures {
  /** How many times per authorization the stage ran (1, or 0 when skipped, e.g. card stages with a reused leaf). */
  perAuthorization: number;
  wallMsMedian: number;
  wallMsMean: number;
  cpuMsMean: number;
}

export interface StageBreakdown {
  reuseSessionCertificate: boolean;
  authorizations: number;
  /** In the order an authorization passes them; `other` last. */
  stages: Record<string, StageFigures>;
  /** Gateway CPU per authorization: the whole terminal request, mean, ms. */
  gatewayCpuMsPerAuthorization: number;
  /** The card emulator process, per authorization, ms (its /proc counters: 10 ms resolution over the run). */
  cardEmulatorCpuMsPerAuthorization: number;
}

const ORDER: AuthorizationStage[] = [
  'terminal-request',
  'identify',
  'signature-check',
  'card-lease',
  'card-pin2',
  'market-chain',
  'card-verify-chain',
  'key-generation',
  'certificate-build',
  'card-sign',
  'certificate-check',
  'tls-context',
  'market-handshake',
  'ticket-wait',
  'answer',
];

export async function measureStages(
  dataDir: string,
  ports: SandboxPorts,
  reuse: boolean,
  n: number,
  warmup: number,
  cardLine: BenchCardLine = 'socket',
): Promise<StageBreakdown> {
  const config = await loadGatewayConfig(await writeBenchGatewayConfig(dataDir, ports, reuse, cardLine));
  const peers = await startGatewayPeers(dataDir, ports, cardLine);
  let samples: StageSample[] | undefined;
  const gateway = await startGateway({ dataDir, config, logger: silentLogger, trace: (s) => samples?.push(s) }).catch(async (e: unknown) => {
    await peers.stop();
    throw e;
  });
  try {
    const [t] = await loadTerminals([join(dataDir, 'terminals', terminalName(0))]);
    await t!.card.unlock();
    for (let i = 0; i < warmup; i++) await authorize(t!);
    samples = [];
    const card0 = readProcCpuMs(peers.emulatorPid);
    for (let i = 0; i < n; i++) await authorize(t!);
    const cardMs = readProcCpuMs(peers.emulatorPid) - card0;
    const taken = samples;
    samples = undefined;
    const stages: Record<string, StageFigures> = {};
    let namedWall = 0;
    let namedCpu = 0;
    for (const stage of ORDER) {
      const mine = taken.filter((s) => s.stage === stage);
      if (mine.length === 0) continue;
      const wall = summarize(mine.map((s) => s.wallMs));
      const cpu = summarize(mine.map((s) => s.cpuMs));
      stages[stage] = { perAuthorization: round(mine.length / n, 2), wallMsMedian: wall.median, wallMsMean: wall.mean, cpuMsMean: cpu.mean };
      if (stage !== 'terminal-request') {
        namedWall += (wall.mean * mine.length) / n;
        namedCpu += (cpu.mean * mine.length) / n;
      }
    }
    const whole = stages['terminal-request'];
    if (whole) {
      stages.other = {
        perAuthorization: 1,
        wallMsMedian: Number.NaN,
        wallMsMean: round(whole.wallMsMean - namedWall),
        cpuMsMean: round(whole.cpuMsMean - namedCpu),
      };
    }
    return {
      reuseSessionCertificate: reuse,
      authorizations: n,
      stages,
      gatewayCpuMsPerAuthorization: whole?.cpuMsMean ?? Number.NaN,
      cardEmulatorCpuMsPerAuthorization: round(cardMs / n, 2),
    };
  } finally {
    await gateway.stop();
    await peers.stop();
  }
}
