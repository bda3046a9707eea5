/** Small statistics for the delegated-path benchmark: summaries, CPU deltas, /proc memory. */
import { readFileSync } from 'node:fs';

export interface Summary {
  n: number;
  median: number;
  p99: number;
  mean: number;
  min: number;
  max: number;
}

export const round = (x: number, digits = 3): number => Number(x.toFixed(digits));

/** Nearest-rank percentile of sorted values, p in (0, 100]. */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function summarize(values: number[]): Summary {
  const s = [...values].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / (s.length || 1);
  return {
    n: s.length,
    median: round(percentile(s, 50)),
    p99: round(percentile(s, 99)),
    mean: round(mean),
    min: round(s[0] ?? NaN),
    max: round(s[s.length - 1] ?? NaN),
  };
}

/** Milliseconds since `t0` (from `process.hrtime.bigint()`). */
export function msSince(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** User + system CPU of this process since `start`, in ms. */
export function cpuMsSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}

export interface ProcMemory {
  /** Resident set size now, MiB. */
  rssMiB: number;
  /** Peak resident set size since the process started, MiB. */
  hwmMiB: number;
}

/** VmRSS and VmHWM of a process from /proc/<pid>/status (Linux). */
export function readProcMemory(pid: number): ProcMemory {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
    if (!m) throw new Error(`/proc/${pid}/status has no ${field}`);
    return Number(m[1]);
  };
  return { rssMiB: round(kib('VmRSS') / 1024, 1), hwmMiB: round(kib('VmHWM') / 1024, 1) };
}

/** Samples a process's RSS every `everyMs` until stopped; reports max and mean. */
export function sampleRss(pid: number, everyMs: number): { stop(): { samples: number; maxMiB: number; meanMiB: number } } {
  const values: number[] = [];
  const take = () => {
    try {
      values.push(readProcMemory(pid).rssMiB);
    } catch {
      // the process is gone: nothing to sample
    }
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      const mean = values.reduce((a, b) => a + b, 0) / (values.length || 1);
      return { samples: values.length, maxMiB: round(Math.max(...values), 1), meanMiB: round(mean, 1) };
    },
  };
}

/** a / b rounded, or null when b is 0. */
export function ratio(a: number, b: number): number | null {
  return b === 0 ? null : round(a / b, 2);
}

/** Linux reports /proc times in USER_HZ ticks, 100 per second. */
const USER_HZ = 100;

/** User + system CPU a process has used so far, in ms (from /proc/<pid>/stat; 10 ms resolution). */
export function readProcCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ;
}

/** The direct child of a process whose command line contains `word` (Linux /proc/<pid>/task/<pid>/children). */
export function findChildPid(pid: number, word: string): number | undefined {
  try {
    const pids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    return pids.find((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').includes(word));
  } catch {
    return undefined;
  }
}
