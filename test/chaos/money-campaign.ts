/**
 * The money-conservation chaos campaign (`npm run chaos -- money`): a seeded
 * random sequence of pays (some of the same order at once), cancels and
 * top-ups near the maximum balance, each with one fault injected (faults.ts),
 * until `faults` faults were injected or the time limit is near.
 *
 * After each fault the household recovers; every few faults (and at the end)
 * the gateway is SIGKILLed at a quiet moment and everything is read while it
 * is down: the card, the archive, the issuer's account and the mail
 * received; the invariants (money-invariants.ts) are checked on that state.
 * Violations that recovery cannot undo count at every checkpoint; the others
 * (e.g. a record not mailed yet) only at the final one, after a long settle.
 */
import type { ExecutionContext } from 'ava';
import type { AccessCard } from '../../card-io/access-card/access-card.js';
import { delay } from '../helpers/link-probes.js';
import { seededRandom } from '../helpers/seeded-random.js';
import { startChaosHousehold, type ChaosHousehold } from './chaos-household.js';
import { FAULT_KINDS, withFault, type FaultKind } from './faults.js';
import { checkInvariants, notificationId, PERMANENT, type ArchivedEvent, type CardDecision, type Violation } from './money-invariants.js';
import { OP_KINDS, Workload, type WorkloadView } from './workload.js';

export interface CampaignOptions {
  faults: number;
  seed: number;
  timeLimitS: number;
  /** Faults between two checkpoints. */
  checkpointEvery?: number;
  /** Progress lines (stderr in the runner, t.log in ava). */
  progress?: (line: string) => void;
  /** Told how to stop the household early (the runner's time-limit backstop). */
  onStop?: (stop: () => Promise<void>) => void;
  /** Run inside an ava test: its teardown cleans up. */
  t?: ExecutionContext;
}

export interface CampaignReport {
  campaign: 'money';
  seed: number;
  faults: number;
  faultsByKind: Record<string, number>;
  operations: number;
  outcomes: Record<string, number>;
  checkpoints: number;
  violations: Array<Violation & { checkpoint: number }>;
  durationMs: number;
  stoppedBy: 'faults' | 'time-limit';
}

/** Time kept for the final settle and check. */
const FINAL_RESERVE_MS = 60_000;

class Campaign {
  readonly decisions = new Map<number, CardDecision>();
  readonly violations = new Map<string, Violation & { checkpoint: number }>();
  checkpoints = 0;
  archive: ArchivedEvent[] = [];

  constructor(
    readonly c: ChaosHousehold,
    readonly start: { balance: number; counter: number; issuer: number },
  ) {}

  see(decisions: readonly CardDecision[]): void {
    for (const d of decisions) this.decisions.set(d.seq, d);
  }

  /**
   * Waits until the gateway answers, every transaction the card counted is in
   * the history the gateway serves and mailed, or nothing changed for 3 s
   * (the checkpoint judges), or `timeoutMs` passed. Returns what the
   * workload needs to know.
   */
  async settle(access: AccessCard, timeoutMs: number): Promise<WorkloadView> {
    const deadline = Date.now() + timeoutMs;
    let view: WorkloadView = { balance: this.start.balance, paid: [] };
    let last = '';
    let stableSince = Date.now();
    while (Date.now() < deadline) {
      try {
        const purse = (await access.balance()) as { balance: number; counter: number };
        const entries = ((await access.history()) as { entries: ArchivedEvent[] }).entries;
        const keys = new Set([...this.archive, ...entries].map((e) => `${e.kind}:${e.seq}`));
        view = { balance: purse.balance, paid: entries.filter((e) => e.kind === 'decision' && e.status === 'paid').map((e) => e.seq) };
        const mailed = new Set(this.c.mail.all.map((m) => m.id));
        const unmailed = entries.filter((e) => !mailed.has(notificationId(this.c.h.cardId, e))).length;
        if (purse.counter - this.start.counter === keys.size && unmailed === 0) return view;
        const now = `${purse.counter}/${keys.size}/${unmailed}/${this.c.mail.all.length}`;
        if (now !== last) [last, stableSince] = [now, Date.now()];
        else if (Date.now() - stableSince > 3000) return view;
      } catch {
        // The gateway is still starting or reconnecting the card: ask again.
      }
      await delay(200);
    }
    return view;
  }

  /** The gateway SIGKILLed at a quiet moment, everything read while it is down, the invariants checked. */
  async checkpoint(final: boolean): Promise<Violation[]> {
    this.checkpoints++;
    const gateway = this.c.h.process!;
    await gateway.kill('SIGKILL');
    const card = await this.c.readCard();
    this.see(card.decisions);
    this.archive = await this.c.readArchive();
    const found = checkInvariants({
      cardId: this.c.h.cardId,
      initialBalance: this.start.balance,
      initialCounter: this.start.counter,
      card,
      cardDecisions: [...this.decisions.values()],
      archive: this.archive,
      issuer: { initialBalance: this.start.issuer, balance: await this.c.issuerBalance() },
      mail: this.c.mailSeen(),
    });
    for (const v of found) {
      if (!final && !PERMANENT.has(v.kind)) continue;
      const key = `${v.kind}:${v.detail}`;
      if (!this.violations.has(key)) this.violations.set(key, { ...v, checkpoint: this.checkpoints });
    }
    if (!final) await gateway.restart();
    return found;
  }
}

export async function runMoneyCampaign(o: CampaignOptions): Promise<CampaignReport> {
  const began = Date.now();
  const say = o.progress ?? (() => undefined);
  const rnd = seededRandom(o.seed);
  const c = await startChaosHousehold(o.t ? { t: o.t } : {});
  o.onStop?.(() => c.stop());
  try {
    const access = await Promise.all([1, 2, 3].map(() => c.h.accessCard()));
    const first = access[0]!;
    const purse = (await first.balance()) as { balance: number; counter: number };
    const campaign = new Campaign(c, { balance: purse.balance, counter: purse.counter, issuer: await c.issuerBalance() });
    const workload = new Workload(c.h, access, rnd);
    const faultsByKind: Record<string, number> = {};
    let faults = 0;
    let sinceCheckpoint = 0;
    let view = await campaign.settle(first, 10_000);
    const timeUp = () => Date.now() - began > o.timeLimitS * 1000 - FINAL_RESERVE_MS;
    while (faults < o.faults && !timeUp()) {
      // Now and then an operation without a fault, so faults also meet a longer log and pending presentations.
      if (rnd.next() < 0.2) say(`unfaulted ${await workload.run(rnd.pick(OP_KINDS), view)}`);
      const kind: FaultKind = rnd.pick(FAULT_KINDS);
      const op = rnd.pick(OP_KINDS);
      const f = await withFault(c, kind, rnd, () => workload.run(op, view));
      if (f.cardDecisions) campaign.see(f.cardDecisions);
      if (f.injected) {
        faults++;
        sinceCheckpoint++;
        faultsByKind[kind] = (faultsByKind[kind] ?? 0) + 1;
      }
      say(`#${faults} ${f.outcome} | ${kind}${f.injected ? '' : ' (not injected)'}`);
      view = await campaign.settle(first, 15_000);
      if (sinceCheckpoint >= (o.checkpointEvery ?? 6)) {
        sinceCheckpoint = 0;
        const found = await campaign.checkpoint(false);
        faults++;
        faultsByKind['gateway-kill-quiet'] = (faultsByKind['gateway-kill-quiet'] ?? 0) + 1;
        say(`checkpoint ${campaign.checkpoints}: ${found.length ? found.map((v) => v.kind).join(', ') : 'sound'}`);
        view = await campaign.settle(first, 15_000);
      }
    }
    await campaign.settle(first, 30_000);
    const found = await campaign.checkpoint(true);
    say(`final checkpoint: ${found.length ? JSON.stringify(found) : 'sound'}`);
    return {
      campaign: 'money',
      seed: o.seed,
      faults,
      faultsByKind,
      operations: workload.operations,
      outcomes: workload.outcomes,
      checkpoints: campaign.checkpoints,
      violations: [...campaign.violations.values()],
      durationMs: Date.now() - began,
      stoppedBy: faults >= o.faults ? 'faults' : 'time-limit',
    };
  } finally {
    await c.stop();
  }
}
