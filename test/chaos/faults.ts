/**
 * The faults the money campaign injects while an operation runs:
 *
 * - SIGKILL of the card emulator process or of the gateway process (the
 *   closest a process comes to losing power), at a random moment of the
 *   operation, or the moment the card has committed a PAY / CANCEL / LOAD
 *   (its log line), before the gateway archived, mailed or even received it,
 *   or the moment the card holds the first part of a chained command;
 * - the card line cut between T=1 blocks: in the middle of a chained command
 *   (the card holds part of it), or after a random number of blocks.
 *
 * Each fault is followed by the recovery a household would see: the killed
 * process started again on the same image / data directory; a cut line is
 * reconnected by the gateway itself. While the gateway is down the card is
 * read directly, so decisions are seen before they could roll off its log.
 */
import { delay } from '../helpers/link-probes.js';
import type { SeededRandom } from '../helpers/seeded-random.js';
import type { ChaosHousehold } from './chaos-household.js';
import type { CardDecision } from './money-invariants.js';

export type FaultKind =
  | 'card-kill'
  | 'card-kill-at-commit'
  | 'card-kill-mid-chain'
  | 'gateway-kill'
  | 'gateway-kill-at-commit'
  | 'gateway-kill-mid-chain'
  | 'line-cut-mid-chain'
  | 'line-cut-between-blocks';

export const FAULT_KINDS: readonly FaultKind[] = [
  'card-kill',
  'card-kill-at-commit',
  'card-kill-mid-chain',
  'gateway-kill',
  'gateway-kill-at-commit',
  'gateway-kill-mid-chain',
  'line-cut-mid-chain',
  'line-cut-between-blocks',
];

const COMMIT_LINE = /"msg":"(Payment recorded|Payment cancelled|Purse loaded)"/;

/** Resolves once the card logged a commit after `from`, or the operation settled, or after 5 s. */
async function cardCommitted(c: ChaosHousehold, from: number, settled: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!settled() && Date.now() < deadline && !COMMIT_LINE.test(c.h.cardLog().slice(from))) await delay(1);
}

export interface InjectedFault {
  kind: FaultKind;
  /** False when the fault could not happen (a cut armed for a chain that never came). */
  injected: boolean;
  outcome: string;
  /** Decisions read from the card while the gateway was down. */
  cardDecisions?: CardDecision[];
}

/** Runs `operation` with fault `kind` injected into it, then recovers the killed process. */
export async function withFault(c: ChaosHousehold, kind: FaultKind, rnd: SeededRandom, operation: () => Promise<string>): Promise<InjectedFault> {
  if (kind === 'line-cut-mid-chain' || kind === 'line-cut-between-blocks') {
    const cut = c.line.arm(kind === 'line-cut-mid-chain' ? { kind: 'mid-chain' } : { kind: 'after-blocks', blocks: rnd.int(1, 40) });
    const outcome = await operation();
    c.line.disarm();
    return { kind, injected: await cut, outcome };
  }
  const target = kind.startsWith('card') ? 'card' : 'gateway';
  const kill = () => (target === 'card' ? c.h.killCard() : c.h.process!.kill('SIGKILL'));
  if (kind.endsWith('mid-chain')) {
    let killed: Promise<void> | undefined;
    const hit = c.line.arm({ kind: 'mid-chain', instead: () => void (killed = kill()) });
    const outcome = await operation();
    c.line.disarm();
    if (!(await hit)) return { kind, injected: false, outcome };
    while (!killed) await delay(5); // the kill starts once the chained block is written
    await killed;
    return { kind, injected: true, ...(await recover(c, target, outcome)) };
  }
  const atCommit = kind.endsWith('at-commit');
  // Operations take ~50-500 ms here: mostly inside that span, sometimes after it.
  const killAfter = atCommit ? 0 : rnd.next() < 0.85 ? rnd.int(0, 250) : rnd.int(250, 800);
  const logFrom = c.h.cardLog().length;
  let settled = false;
  const done = operation().then((o) => {
    settled = true;
    return o;
  });
  if (atCommit) await cardCommitted(c, logFrom, () => settled);
  else await delay(killAfter);
  await kill();
  return { kind, injected: true, ...(await recover(c, target, await done)) };
}

/** The killed process started again; while the gateway is down, the card is read directly. */
async function recover(c: ChaosHousehold, target: 'card' | 'gateway', outcome: string): Promise<{ outcome: string; cardDecisions?: CardDecision[] }> {
  if (target === 'card') {
    await c.h.restartCard();
    return { outcome };
  }
  const card = await c.readCard();
  await c.h.process!.restart();
  return { outcome, cardDecisions: card.decisions };
}
