/**
 * Purse benchmark, in one run (returns one JSON-ready object; the caller prints it):
 *
 * 1. payments end to end on the sandbox household in this process
 *    (purse-payments.ts): terminal request → card-signed decision → market
 *    accepted → the mail notification received by an MQTT subscriber;
 *    median and p99 over HOMEGATE_BENCH_PAYMENTS payments (default 50),
 *    split into "gateway answered" and "mail arrived"; and the gateway's
 *    disk writes per payment (/proc/self/io), with a 1 000-record archive
 *    in its history;
 * 2. bytes written to the history per payment with 1 000 and with 100 000
 *    archived records (purse-history.ts, HistoryStore.bytesWritten around
 *    one append), and their ratio.
 *
 * Archives: purse-archive.ts (same monthly activity for both sizes, so the
 * bigger one is an older history). The 1 000-record archive is built first
 * and copied under the household's gateway before it starts; the 100 000
 * one after the payments, so its build does not load the disk while they
 * are timed.
 *
 * Environment: HOMEGATE_BENCH_PAYMENTS (default 50), HOMEGATE_BENCH_SPACED_PAYMENTS (default 5),
 * HOMEGATE_BENCH_PACE_PAYMENTS (default 200, purse-pace.ts),
 * HOMEGATE_BENCH_MONTH_PAYMENTS (default 10 000), HOMEGATE_BENCH_ARCHIVE_PER_MONTH
 * (archived records per full month, default 1000), HOMEGATE_SEED (archive contents).
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SANDBOX_PORTS, type SandboxPorts } from '../../deploy/sandbox/household/household.js';
import { freePort } from '../helpers/link-probes.js';
import { seededRandom, seedFromEnv } from '../helpers/seeded-random.js';
import { round } from './bench-stats.js';
import { buildArchive, paymentEntry } from './purse-archive.js';
import { measureHistoryAppend, measureMonthOfPayments } from './purse-history.js';
import { measureHouseholdPace } from './purse-pace.js';
import { readWriteBytes } from './purse-io.js';
import { runPayments, SPACED_MS } from './purse-payments.js';

export interface PurseBenchConfig {
  payments: number;
  warmup: number;
  archivePerMonth: number;
  archiveSizes: [number, number];
  /** Payments within one month for the month-activity measurement (HOMEGATE_BENCH_MONTH_PAYMENTS, default 10 000). */
  monthPayments: number;
  /** Payments at a household's pace (SPACED_MS apart) after the timed ones (HOMEGATE_BENCH_SPACED_PAYMENTS, default 5). */
  spacedPayments: number;
  /** Offline payments at a household's pace (every page clean before each) per archive size (HOMEGATE_BENCH_PACE_PAYMENTS, default 200). */
  pacePayments: number;
  seed: number;
}

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return n;
}

export function readPurseBenchConfig(env: NodeJS.ProcessEnv = process.env): PurseBenchConfig {
  const payments = positiveInt(env, 'HOMEGATE_BENCH_PAYMENTS', 50);
  return {
    payments,
    warmup: 3,
    archivePerMonth: positiveInt(env, 'HOMEGATE_BENCH_ARCHIVE_PER_MONTH', 1000),
    archiveSizes: [1_000, 100_000],
    monthPayments: positiveInt(env, 'HOMEGATE_BENCH_MONTH_PAYMENTS', 10_000),
    spacedPayments: positiveInt(env, 'HOMEGATE_BENCH_SPACED_PAYMENTS', 5),
    pacePayments: positiveInt(env, 'HOMEGATE_BENCH_PACE_PAYMENTS', 200),
    seed: seedFromEnv(env),
  };
}

/** A distinct free port for each port the sandbox household has. */
async function distinctFreePorts(): Promise<SandboxPorts> {
  const ports: Record<string, number> = {};
  const seen = new Set<number>();
  for (const name of Object.keys(DEFAULT_SANDBOX_PORTS)) {
    let port = await freePort();
    while (seen.has(port)) port = await freePort();
    seen.add(port);
    ports[name] = port;
  }
  return ports as unknown as SandboxPorts;
}

const say = (line: string) => process.stderr.write(`purse bench: ${line}\n`);

export async function runPurseBench(config = readPurseBenchConfig()): Promise<Record<string, unknown>> {
  const loadAtStart = loadavg().map((x) => round(x, 2));
  const work = await mkdtemp(join(tmpdir(), 'homegate-purse-bench-'));
  try {
    const now = new Date();
    const random = seededRandom(config.seed);
    const [small, large] = config.archiveSizes;

    say(`building the ${small}-record archive`);
    const archiveSmall = await buildArchive(join(work, `archive-${small}`), { records: small, perMonth: config.archivePerMonth, now, random });
    const dataDir = join(work, 'household');
    await cp(archiveSmall.dir, join(dataDir, 'history'), { recursive: true });

    say(`${config.payments} payments end to end (+${config.warmup} warm-up), ${small} records archived under the gateway`);
    const payments = await runPayments({
      dataDir,
      ports: await distinctFreePorts(),
      payments: config.payments,
      warmup: config.warmup,
      spaced: config.spacedPayments,
      say,
    });

    say(`history appends on the ${small}-record archive`);
    const historySmall = await measureHistoryAppend(archiveSmall, random, payments.terminalId, now);
    say(`${config.pacePayments} offline payments at a household's pace on the ${small}-record archive`);
    const paceSmall = await measureHouseholdPace(archiveSmall, random, payments.terminalId, now, config.pacePayments, join(work, 'pace-small'));
    say(`building the ${large}-record archive`);
    const archiveLarge = await buildArchive(join(work, `archive-${large}`), { records: large, perMonth: config.archivePerMonth, now, random });
    say(`history appends on the ${large}-record archive`);
    const historyLarge = await measureHistoryAppend(archiveLarge, random, payments.terminalId, now);
    say(`${config.pacePayments} offline payments at a household's pace on the ${large}-record archive`);
    const paceLarge = await measureHouseholdPace(archiveLarge, random, payments.terminalId, now, config.pacePayments, join(work, 'pace-large'));
    const largePayments = Math.min(config.payments, 10);
    say(`${largePayments} payments end to end, ${large} records archived under the gateway`);
    const dataDirLarge = join(work, 'household-large');
    await cp(archiveLarge.dir, join(dataDirLarge, 'history'), { recursive: true });
    const paymentsLarge = await runPayments({
      dataDir: dataDirLarge,
      ports: await distinctFreePorts(),
      payments: largePayments,
      warmup: config.warmup,
      spaced: config.spacedPayments,
      say,
    });
    const smallMonth = Math.min(config.monthPayments, 1000);
    say(`${smallMonth} payments' durable writes within one month on the ${small}-record archive`);
    const monthSmall = await measureMonthOfPayments(archiveSmall, random, payments.terminalId, now, smallMonth, join(work, 'month-small'));
    say(`${config.monthPayments} payments' durable writes within one month on the ${large}-record archive`);
    const month = await measureMonthOfPayments(archiveLarge, random, payments.terminalId, now, config.monthPayments, join(work, 'month-large'));

    const ratio = (a: number, b: number) => (b > 0 ? round(a / b, 3) : null);
    const gatewayPerPayment = payments.gatewayDiskWriteBytesPerPayment;
    const syntheticSignedRecord = (paymentEntry(random, archiveSmall.next, payments.terminalId, now).signedRecord ?? '').length;
    return {
      benchmark:
        'purse: payments end to end (terminal → card-signed decision → market accepted → mail received) and disk bytes written per payment with ' +
        '1 000 and 100 000 archived records',
      environment: {
        node: process.version,
        platform: `${process.platform}/${process.arch}`,
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? null,
        loadAverage1m5m15m: { atStart: loadAtStart, atEnd: loadavg().map((x) => round(x, 2)) },
      },
      config,
      setup:
        'All on loopback in this process: the sandbox household (startSandboxHousehold: gateway, market, issuer, embedded MQTT broker; the card emulator is ' +
        'its own process on a TCP line), ' +
        "the demo terminal (AccessCard, PINs 1234/5678) and an MQTT subscriber on the terminal's mail topic. Payments are sequential; each pays a freshly " +
        'created order of the cheapest item. ' +
        'Times from t0 = just before AccessCard.pay (a GET /v1/whoami, POST /v1/purse/quote, then POST /v1/purse/pay; each on a new mutual-TLS connection, ' +
        'as the access card does): gatewayAnswered = the pay answer (card decision + market accepted), ' +
        'mailArrived = the notification with id <cardId>:decision:<seq> received by the subscriber, endToEnd = both. Nearest-rank percentiles; with n < 100, ' +
        'p99 is the maximum. Warm-up payments are not counted. ' +
        `The gateway ran with the ${small}-record archive in its history directory.`,
      payments: {
        n: payments.payments,
        item: payments.item,
        latencyMs: payments.latencyMs,
        marketAccepted: payments.marketAccepted,
        topups: payments.topups,
        purseAfterRun: payments.purseAfterRun,
      },
      diskBytesPerPayment: {
        archive:
          `Synthetic archives (purse-archive.ts, seed ${config.seed}): ${config.archivePerMonth} records per month spread back from now (current month ` +
          `${Math.floor(config.archivePerMonth / 2)}, i.e. mid-month), ` +
          'decisions with card-encoded signed records (E1‖DF5E, random signature bytes), 3 % cancelled (+ cancel entry), loads (none in the current month), ' +
          'a new card every 36 months, 3 terminals, 5 markets. ' +
          "Built by writing each month's record log directly in the store's format (one put record per entry, entries through checkEntry) in one go rather " +
          'than 100 000 fsynced appends; ' +
          'the index is rebuilt by HistoryStore.open, which reads and checks every month. ' +
          `Signed record length: synthetic ${syntheticSignedRecord} base64 chars, real card ${payments.realSignedRecordBase64Chars}.`,
        historyOnly: {
          method:
            "HistoryStore.bytesWritten around one append of a payment's decision entry (as the e-money manager archives it), offline, mid-month and " +
            'as the first payment of the next month (which also writes the index); kernelWriteBytes = /proc/self/io write_bytes around the same append ' +
            '(whole pages).',
          [`archive${small}`]: historySmall,
          [`archive${large}`]: historyLarge,
          ratioLargeToSmall: {
            midMonth: ratio(historyLarge.midMonth.storeBytesWritten, historySmall.midMonth.storeBytesWritten),
            midMonthKernel: ratio(historyLarge.midMonth.kernelWriteBytes ?? 0, historySmall.midMonth.kernelWriteBytes ?? 0),
            firstOfNextMonth: ratio(historyLarge.firstOfNextMonth.storeBytesWritten, historySmall.firstOfNextMonth.storeBytesWritten),
          },
        },
        wholeGateway: {
          method:
            `/proc/self/io write_bytes of this process from t0 until the month's history log records the ` +
            `payment's decision mailed, per measured payment, with the ${small}-record archive. ` +
            'Counts every file the gateway writes for a payment: payment-intents.jsonl (one appended ' +
            "record, fdatasynced), the month's history log (three appended records: archived with mailed: false, group-committed, then " +
            'presented: true and mailed: true, not fsynced on their own; the outbox holds the mail in memory only), and ' +
            'registry.json when lastSeen is due (at most once a minute). Whole 4 KiB pages, temp files included. ' +
            'Nothing else in this process writes files (market, issuer and broker keep memory state; the card emulator is another process).',
          available: readWriteBytes() !== null,
          [`archive${small}BytesPerPayment`]: gatewayPerPayment,
          [`archive${small}BytesPerSpacedPayment`]: payments.gatewayDiskWriteBytesPerSpacedPayment,
          spacedPaymentsMethod:
            `The same, for ${config.spacedPayments} payments after the timed ones, each started ${SPACED_MS} ms after the previous one's mail ` +
            "was delivered (a household's pace: every group commit flushed before the next payment, so every file a payment touches costs a " +
            'page again).',
          [`archive${large}BytesPerPayment`]: paymentsLarge.gatewayDiskWriteBytesPerPayment,
          [`archive${large}BytesPerSpacedPayment`]: paymentsLarge.gatewayDiskWriteBytesPerSpacedPayment,
          householdPace: {
            method:
              `Offline, every durable write of a payment (as in monthOfPayments), ${config.pacePayments} payments one simulated minute apart mid-month, ` +
              'with every page of every file a payment touches made clean (fdatasync) before each, as minutes between payments leave them; then one ' +
              'payment dated the first second of a month with no entry yet (a new month file and the history index). /proc/self/io write_bytes.',
            [`archive${small}`]: paceSmall,
            [`archive${large}`]: paceLarge,
          },
          [`archive${large}Payments`]: paymentsLarge.payments,
          ratioLargeToSmall:
            gatewayPerPayment && paymentsLarge.gatewayDiskWriteBytesPerPayment
              ? ratio(paymentsLarge.gatewayDiskWriteBytesPerPayment.median, gatewayPerPayment.median)
              : null,
          gatewayFilesAfterRun: payments.gatewayFilesAfterRun,
          /** Median per real payment over one history append on the same archive, both as /proc/self/io write_bytes. */
          monthOfPayments: {
            method:
              `Offline (no card, no network), every durable write the gateway makes for a payment, as it makes them: the intent journaled ` +
              '(fdatasync), the decision archived (group-committed) keeping its mail, which the outbox holds in memory, the decision marked presented, ' +
              `the mail delivered and the entry marked mailed; /proc/self/io write_bytes per payment, median over the first and the last 1 000 and over all, and the mean; then one ` +
              'payment dated the first second of the next month (a new month file and the history index written).',
            [`archive${large}`]: month,
            [`archive${small}`]: monthSmall,
          },
          ratioToOneHistoryAppend:
            gatewayPerPayment && historySmall.midMonth.kernelWriteBytes ? ratio(gatewayPerPayment.median, historySmall.midMonth.kernelWriteBytes) : null,
        },
      },
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
