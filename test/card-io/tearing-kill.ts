/**
 * Pulling the plug on the emulator process in the middle of a command: a
 * SIGKILL after a few milliseconds, as a commit starts (its temp file
 * appears, or the counter file is written), right after the n-th commit
 * became the image (its rename is seen) or was written to the counter file
 * (a counted PIN try, card-io/emulator/counter-file.ts), or after the answer. File events come from fs.watch on the image's
 * directory; the kill lands a moment after the event, while the card goes on.
 */
import { watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import { parseResponseApdu } from '../../card-io/apdu/response-apdu.js';
import type { SeededRandom } from '../helpers/seeded-random.js';
import type { EmulatorProcess } from './emulator-process.js';

export type KillPoint = { kind: 'delay'; ms: number } | { kind: 'commit-started' } | { kind: 'commit-published'; nth: number } | { kind: 'after-answer' };

/** `commits`: how many commits the completed command makes. */
export function pickKillPoint(rnd: SeededRandom, commits: number): KillPoint {
  const r = rnd.next();
  if (r < 0.4 || commits === 0) return { kind: 'delay', ms: rnd.int(0, 6) };
  if (r < 0.6) return { kind: 'commit-started' };
  if (r < 0.9) return { kind: 'commit-published', nth: rnd.int(1, commits) };
  return { kind: 'after-answer' };
}

export function describeKillPoint(p: KillPoint): string {
  switch (p.kind) {
    case 'delay':
      return `${p.ms} ms after sending`;
    case 'commit-started':
      return 'when the first commit starts';
    case 'commit-published':
      return `right after commit ${p.nth}`;
    case 'after-answer':
      return 'after the answer';
  }
}

/** Resolves when the image directory shows the kill point (never for 'delay' and 'after-answer'). */
function watchImage(imagePath: string, point: KillPoint): { seen: Promise<void>; close(): void } {
  if (point.kind !== 'commit-started' && point.kind !== 'commit-published') return { seen: new Promise(() => undefined), close() {} };
  const image = basename(imagePath);
  let published = 0;
  let fire!: () => void;
  const seen = new Promise<void>((resolve) => (fire = resolve));
  const watcher = watch(dirname(imagePath), (event, file) => {
    // A counter commit is one pwrite: its change event marks both its start and (fdatasync aside) its publication.
    const counters = file === `${image}.counters`;
    if (point.kind === 'commit-started' && (file === `${image}.tmp` || counters)) fire();
    if (point.kind === 'commit-published' && ((event === 'rename' && file === image) || (event === 'change' && counters)) && ++published === point.nth) fire();
  });
  return { seen, close: () => watcher.close() };
}

export interface KillOutcome {
  /** The status word, when the answer arrived before the kill. */
  answeredSw: number | undefined;
}

/** Send `apdu` to the emulator process and SIGKILL it at `point` (or once it answered, whichever first). */
export async function sendAndKill(emulator: EmulatorProcess, apdu: Buffer, point: KillPoint, imagePath: string): Promise<KillOutcome> {
  const watcher = watchImage(imagePath, point);
  let answeredSw: number | undefined;
  const answer = emulator.send(Buffer.from(apdu)).then(
    (r) => void (answeredSw = parseResponseApdu(r).sw),
    () => undefined,
  );
  let timer: NodeJS.Timeout | undefined;
  const delay = point.kind === 'delay' ? new Promise<void>((r) => (timer = setTimeout(r, point.ms))) : new Promise<void>(() => undefined);
  try {
    await Promise.race([answer, watcher.seen, delay]);
  } finally {
    clearTimeout(timer);
    watcher.close();
  }
  const sw = answeredSw; // read before the kill: an answer that arrives later does not count
  await emulator.kill();
  await answer;
  return { answeredSw: sw };
}
