/**
 * `npm run chaos -- <campaign> [options]`: chaos campaigns, each printing one
 * JSON document on stdout (progress on stderr) and exiting 1 when it found
 * violations.
 *
 *   money   the money-conservation campaign (money-campaign.ts)
 *           --faults N        faults to inject (default 200)
 *           --seed S          0..4294967295; printed, replays the same choices
 *           --time-limit-s T  stop injecting so that the run ends within T s (default 900)
 *           --quiet           no progress lines
 */
import { randomInt } from 'node:crypto';
import { runMoneyCampaign } from './money-campaign.js';

export interface MoneyArgs {
  faults: number;
  seed: number;
  timeLimitS: number;
  quiet: boolean;
}

function integer(name: string, raw: string | undefined, min: number, max: number): number {
  const n = Number(raw);
  if (raw === undefined || !Number.isInteger(n) || n < min || n > max) throw new Error(`${name} takes an integer ${min}..${max}, got ${raw ?? 'nothing'}`);
  return n;
}

export function parseMoneyArgs(argv: readonly string[]): MoneyArgs {
  const a: MoneyArgs = { faults: 200, seed: randomInt(0, 2 ** 32 - 1), timeLimitS: 900, quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--faults') a.faults = integer(flag, argv[++i], 1, 100_000);
    else if (flag === '--seed') a.seed = integer(flag, argv[++i], 0, 2 ** 32 - 1);
    else if (flag === '--time-limit-s') a.timeLimitS = integer(flag, argv[++i], 90, 86_400);
    else if (flag === '--quiet') a.quiet = true;
    else throw new Error(`unknown option ${flag}`);
  }
  return a;
}

async function main(argv: readonly string[]): Promise<number> {
  const [campaign, ...rest] = argv;
  if (campaign !== 'money') {
    process.stderr.write('usage: npm run chaos -- money [--faults N] [--seed S] [--time-limit-s T] [--quiet]\n');
    return 2;
  }
  const args = parseMoneyArgs(rest);
  process.stderr.write(`money campaign: seed ${args.seed}, ${args.faults} faults, time limit ${args.timeLimitS} s\n`);
  // The campaign stops injecting in time to settle and check; this is the backstop should something hang.
  let stopHousehold: () => Promise<void> = async () => undefined;
  const watchdog = setTimeout(
    () => {
      process.stdout.write(
        JSON.stringify({ campaign: 'money', seed: args.seed, error: `not finished within the time limit of ${args.timeLimitS} s (+120 s)` }) + '\n',
      );
      // The card emulator and the gateway are child processes: stop them before leaving (at most 10 s).
      void Promise.race([stopHousehold(), new Promise((r) => setTimeout(r, 10_000))]).finally(() => process.exit(2));
    },
    (args.timeLimitS + 120) * 1000,
  );
  watchdog.unref();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void stopHousehold().finally(() => process.exit(130)));
  }
  const report = await runMoneyCampaign({
    ...args,
    onStop: (stop) => (stopHousehold = stop),
    progress: args.quiet ? undefined : (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  return report.violations.length > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`chaos: ${(e as Error).message}\n`);
    process.exit(2);
  },
);
