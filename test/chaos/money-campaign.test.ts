/**
 * A short money-conservation campaign (the full one is `npm run chaos --
 * money`): 20 faults with a fixed seed — SIGKILLs of the card emulator and of
 * the gateway process, card-line cuts between T=1 blocks and mid-chain — over
 * pays (some of one order at once), cancels and top-ups near the maximum
 * balance. After recovery the card, the archive, the issuer's account and the
 * terminal's mailbox must agree: no violation.
 */
import test from 'ava';
import { runMoneyCampaign } from './money-campaign.js';

const SEED = 7816;

test.serial(
  'When 20 faults hit pays, concurrent pays of one order, cancels and top-ups, money is conserved, the issuer debited exactly the loads, every ' +
    'record archived and mailed once, and no order paid twice',
  async (t) => {
    t.timeout(420_000);
    const report = await runMoneyCampaign({ faults: 20, seed: SEED, timeLimitS: 360, checkpointEvery: 5, t, progress: (line) => t.log(line) });
    t.log(JSON.stringify({ ...report, outcomes: undefined }));
    t.true(report.faults >= 20, `only ${report.faults} faults injected before the time limit`);
    t.deepEqual(report.violations, []);
  },
);
