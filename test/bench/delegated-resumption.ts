/**
 * The terminal's leg alone, A/B in one run: CPU of resuming a handed session
 * at the market + GET /whoami, with the access card's kept TLS context per
 * market anchor (card-io/access-card/market-contexts.ts) and with a new
 * context per connection (what `tls.connect` with `ca` does). Each pair uses
 * two fresh sessions from the gateway (authorizations are not measured); the
 * order alternates, so drift hits both alike.
 */
import { marketRequest } from '../../card-io/access-card/market-request.js';
import { cpuMsSince, ratio, summarize, type Summary } from './delegated-stats.js';
import { authorize, type BenchTerminal } from './delegated-terminals.js';

export interface ResumptionFigures {
  keptContextCpuMs: Summary;
  contextPerConnectionCpuMs: Summary;
  /** kept / per connection, means. */
  ratioMean: number | null;
}

export async function measureResumption(t: BenchTerminal, iterations: number, warmup: number): Promise<ResumptionFigures> {
  const kept: number[] = [];
  const fresh: number[] = [];
  for (let i = 0; i < iterations + warmup; i++) {
    for (const keep of i % 2 === 0 ? [true, false] : [false, true]) {
      const session = await authorize(t);
      const cpu0 = process.cpuUsage();
      const r = await marketRequest(session, { method: 'GET', path: '/whoami' }, keep ? { contexts: t.card.marketContexts } : {});
      const ms = cpuMsSince(cpu0);
      if (r.status !== 200) throw new Error(`resumed /whoami: HTTP ${r.status}`);
      if (i >= warmup) (keep ? kept : fresh).push(ms);
    }
  }
  const k = summarize(kept);
  const f = summarize(fresh);
  return { keptContextCpuMs: k, contextPerConnectionCpuMs: f, ratioMean: ratio(k.mean, f.mean) };
}
