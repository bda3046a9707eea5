/**
 * A small seeded PRNG (mulberry32) for randomized tests and benchmarks, so a
 * failing run can be replayed: the seed comes from HOMEGATE_SEED when set,
 * else it is random, and the caller prints it (t.log) with every run.
 */
import { randomInt } from 'node:crypto';

export interface SeededRandom {
  readonly seed: number;
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [min, max], both included. */
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
}

/** HOMEGATE_SEED (an integer 0..2^32-1) if set, else a fresh random seed. */
export function seedFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.HOMEGATE_SEED;
  if (raw === undefined || raw === '') return randomInt(0, 2 ** 32 - 1);
  const seed = Number(raw);
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new Error(`HOMEGATE_SEED must be an integer 0..4294967295, got "${raw}"`);
  return seed;
}

export function seededRandom(seed: number = seedFromEnv()): SeededRandom {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    seed,
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (items) => {
      if (items.length === 0) throw new Error('pick from an empty list');
      return items[Math.floor(next() * items.length)]!;
    },
  };
}
