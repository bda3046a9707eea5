/**
 * Latency and terminal CPU per connection, one connection at a time:
 *
 * - direct:    full mutual-TLS 1.3 handshake to the market + GET /whoami,
 *              a new TLS context per connection (plain `tls.connect` with key/cert/ca);
 * - directKeptContext: the same with the context built once (the fairer
 *              baseline now that the access card keeps its context);
 * - delegated: POST /v1/authorize to the gateway (PIN2; the terminal's own
 *              mutual-TLS connection to the gateway and its signed request)
 *              + resumption of the handed session at the market + GET /whoami.
 *
 * The two paths alternate, so drift (other load, thermal) hits both alike.
 * CPU is `process.cpuUsage()` of this process (the terminal) around the
 * terminal-side work only; the gateway and market run in the child process.
 */
import { directWhoami, type DirectTerminal } from './delegated-direct.js';
import { cpuMsSince, msSince, ratio, summarize, type Summary } from './delegated-stats.js';
import { authorize, resumeAndWhoami, type BenchTerminal } from './delegated-terminals.js';

export interface PathFigures {
  latencyMs: Summary;
  terminalCpuMsPerConnection: Summary;
}

export interface DelegatedFigures extends PathFigures {
  /** The delegated path's terminal CPU split: the gateway request, and the market resumption + GET. */
  terminalCpuMsSplit: { gatewayRequest: Summary; resumptionAndGet: Summary };
}

interface Ratios {
  latencyMedian: number | null;
  latencyP99: number | null;
  terminalCpuMean: number | null;
  terminalCpuMedian: number | null;
}

export interface LatencyFigures {
  direct?: PathFigures;
  directKeptContext?: PathFigures;
  delegated: DelegatedFigures;
  /** delegated / direct (a context per connection). */
  ratios?: Ratios;
  /** delegated / directKeptContext. */
  ratiosKeptContext?: Ratios;
}

interface Samples {
  latency: number[];
  cpu: number[];
}

async function directOnce(t: DirectTerminal, marketPort: number, keepContext: boolean, into?: Samples): Promise<void> {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await directWhoami(t, marketPort, keepContext);
  const cpu = cpuMsSince(cpu0);
  into?.latency.push(msSince(t0));
  into?.cpu.push(cpu);
}

async function delegatedOnce(t: BenchTerminal, into?: Samples & { gateway: number[]; market: number[] }): Promise<void> {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const session = await authorize(t);
  const cpuGateway = cpuMsSince(cpu0);
  const cpu1 = process.cpuUsage();
  await resumeAndWhoami(session, t);
  const cpuMarket = cpuMsSince(cpu1);
  into?.latency.push(msSince(t0));
  into?.cpu.push(cpuGateway + cpuMarket);
  into?.gateway.push(cpuGateway);
  into?.market.push(cpuMarket);
}

export interface LatencyOptions {
  /** Without it only the delegated path is measured. */
  direct?: DirectTerminal;
  terminal: BenchTerminal;
  marketPort: number;
  iterations: number;
  warmup: number;
}

export async function measureLatency(o: LatencyOptions): Promise<LatencyFigures> {
  for (let i = 0; i < o.warmup; i++) {
    if (o.direct) await directOnce(o.direct, o.marketPort, false);
    if (o.direct) await directOnce(o.direct, o.marketPort, true);
    await delegatedOnce(o.terminal);
  }
  const direct: Samples = { latency: [], cpu: [] };
  const kept: Samples = { latency: [], cpu: [] };
  const delegated = { latency: [] as number[], cpu: [] as number[], gateway: [] as number[], market: [] as number[] };
  for (let i = 0; i < o.iterations; i++) {
    if (o.direct) await directOnce(o.direct, o.marketPort, false, direct);
    if (o.direct) await directOnce(o.direct, o.marketPort, true, kept);
    await delegatedOnce(o.terminal, delegated);
  }
  const d: DelegatedFigures = {
    latencyMs: summarize(delegated.latency),
    terminalCpuMsPerConnection: summarize(delegated.cpu),
    terminalCpuMsSplit: { gatewayRequest: summarize(delegated.gateway), resumptionAndGet: summarize(delegated.market) },
  };
  if (!o.direct) return { delegated: d };
  const b: PathFigures = { latencyMs: summarize(direct.latency), terminalCpuMsPerConnection: summarize(direct.cpu) };
  const k: PathFigures = { latencyMs: summarize(kept.latency), terminalCpuMsPerConnection: summarize(kept.cpu) };
  const ratios = (base: PathFigures): Ratios => ({
    latencyMedian: ratio(d.latencyMs.median, base.latencyMs.median),
    latencyP99: ratio(d.latencyMs.p99, base.latencyMs.p99),
    terminalCpuMean: ratio(d.terminalCpuMsPerConnection.mean, base.terminalCpuMsPerConnection.mean),
    terminalCpuMedian: ratio(d.terminalCpuMsPerConnection.median, base.terminalCpuMsPerConnection.median),
  });
  return { direct: b, directKeptContext: k, delegated: d, ratios: ratios(b), ratiosKeptContext: ratios(k) };
}
