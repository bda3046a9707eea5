/**
 * `homegate doctor`: checks every durable file of a data directory (the
 * registry, the history months and index, the intent journals, the outbox)
 * without changing any, and with `repair` fixes what can be fixed:
 *
 * - a torn last record (a crash mid-append) is cut, as the gateway's open would;
 * - a damaged history month or journal is moved aside as
 *   `<name>.corrupt-<UTC timestamp>` (kept for inspection, never deleted) and
 *   replaced by every record that still verifies (before and after the
 *   damage). What it lost of the card's last 32 decisions is archived again
 *   from the card's own log by the reconciliation the gateway runs at its
 *   next start (READ RECORD on the card line, gateway/emoney/emoney-reconciler.ts);
 * - a history month the index names whose file is gone is dropped from the
 *   index (same: the card's log refills what it still holds);
 * - the outbox log (gateway/notify/outbox-log.ts) is checked like the
 *   journals: a torn tail cut; damage moved aside and replaced by every
 *   record that verifies (a notification whose `add` was lost cannot be
 *   sent; one whose `done` was lost is sent again, and receivers drop it by
 *   id); a file of the older one-file-per-notification outbox that does not
 *   parse is moved aside;
 * - a missing or damaged registry is NOT repairable here: restore it from a
 *   backup (an empty one would forget every terminal and market).
 *
 * Repair must run while the gateway is stopped (the caller checks).
 */
import { readdir, readFile, rename, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fsyncDirectory, isErrno } from '../../card-io/base/durable/atomic-file.js';
import { RecordLog, scanRecordLog } from '../../card-io/base/durable/record-log.js';
import { silentLogger } from '../../card-io/base/log.js';
import { dataPath } from '../config/gateway-config.js';
import { HistoryIndex } from '../history/history-index.js';
import { inspectMonth, LEGACY_MONTH_FILE, MONTH_LOG, monthLogPath, salvageMonth, type PartitionRecord } from '../history/history-partition.js';
import { FsyncJsonFile } from '../registry/fsync-json-file.js';
import { isRegistryError } from '../registry/registry-error.js';
import { parseRegistryData } from '../registry/registry-schema.js';
import { checkRegistryPresent } from '../registry/registry-witness.js';
import { OUTBOX_LOG, parseOutboxRecord } from '../notify/outbox-log.js';

export type FileStatus = 'ok' | 'repaired-tail' | 'corrupt' | 'missing' | 'repaired';

export interface FileReport {
  /** Relative to the data directory. */
  file: string;
  status: FileStatus;
  detail?: string;
}

export interface DoctorReport {
  files: FileReport[];
  /** True when nothing is left damaged. */
  healthy: boolean;
}

export interface DoctorOptions {
  dataDir: string;
  registryFile: string;
  historyDir: string;
  repair: boolean;
  /** For the `.corrupt-<timestamp>` names. Default Date.now. */
  clock?: () => number;
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    (e: unknown) => (isErrno(e, 'ENOENT') ? false : Promise.reject(e)),
  );

function accepts(parse: (v: unknown) => unknown, record: unknown): boolean {
  try {
    parse(record);
    return true;
  } catch {
    return false;
  }
}

export async function runDoctor(o: DoctorOptions): Promise<DoctorReport> {
  const files: FileReport[] = [];
  const rel = (p: string) => relative(o.dataDir, p);
  const stamp = new Date((o.clock ?? Date.now)()).toISOString().replace(/[:.]/g, '-');
  const moveAside = async (path: string) => {
    const aside = `${path}.corrupt-${stamp}`;
    await rename(path, aside);
    return aside;
  };

  // ---- registry
  const registryPath = dataPath(o.dataDir, o.registryFile);
  try {
    await checkRegistryPresent(registryPath);
    if (await exists(registryPath)) await new FsyncJsonFile(registryPath, { parse: parseRegistryData }).read();
    files.push({ file: rel(registryPath), status: 'ok' });
  } catch (e) {
    if (!isRegistryError(e)) throw e;
    const status = e.code === 'missing' ? 'missing' : 'corrupt';
    files.push({ file: rel(registryPath), status, detail: 'not repairable here: restore it from a backup' });
  }

  // ---- history
  const historyDir = dataPath(o.dataDir, o.historyDir);
  const names = await readdir(historyDir).catch((e: unknown) => (isErrno(e, 'ENOENT') ? [] : Promise.reject(e)));
  const onDisk = names.flatMap((n) => MONTH_LOG.exec(n)?.[1] ?? []);
  const legacy = names.flatMap((n) => LEGACY_MONTH_FILE.exec(n)?.[1] ?? []);
  const index = await HistoryIndex.load(historyDir, { logger: silentLogger });
  const missing = (index?.months() ?? []).filter((m) => !onDisk.includes(m) && !legacy.includes(m));
  for (const month of onDisk.sort()) {
    const path = monthLogPath(historyDir, month);
    const found = await inspectMonth(path, month);
    if (found.status === 'ok') files.push({ file: rel(path), status: 'ok', detail: `${found.entries} entries` });
    else if (found.status === 'torn') {
      if (o.repair) await RecordLog.open(path); // cuts the torn tail
      const detail = o.repair ? 'an incomplete last record was cut' : 'an incomplete last record (cut at the next open)';
      files.push({ file: rel(path), status: 'repaired-tail', detail });
    } else if (!o.repair) {
      files.push({ file: rel(path), status: 'corrupt', detail: `record ${found.line} is damaged` });
    } else {
      const entries = await salvageMonth(path, month, true);
      const aside = await moveAside(path);
      const { log } = await RecordLog.open<PartitionRecord>(path);
      await log.compact(entries.map((put) => ({ put })));
      const refill = "the card's log refills its last decisions at the next gateway start";
      const detail = `moved aside to ${rel(aside)}; ${entries.length} verified entries kept; ${refill}`;
      files.push({ file: rel(path), status: 'repaired', detail });
    }
  }
  for (const month of missing) {
    const path = monthLogPath(historyDir, month);
    const detail = o.repair
      ? "dropped from the index; the card's log refills its last decisions at the next gateway start"
      : 'named by the index, but the file is gone';
    files.push({ file: rel(path), status: o.repair ? 'repaired' : 'missing', detail });
  }
  if (o.repair && missing.length > 0 && index) {
    await HistoryIndex.rebuild(
      historyDir,
      index.months().filter((m) => !missing.includes(m)),
      { logger: silentLogger },
    );
  }

  // ---- intent journals and the outbox log
  const logs: [string, (v: unknown) => unknown][] = [
    ['payment-intents.jsonl', (v) => v],
    ['load-intents.jsonl', (v) => v],
    [join('outbox', OUTBOX_LOG), parseOutboxRecord],
  ];
  for (const [name, parse] of logs) {
    const path = join(o.dataDir, name);
    if (!(await exists(path))) continue;
    const scan = await scanRecordLog(path);
    const unparsed = scan.records.findIndex((r) => !accepts(parse, r));
    if (unparsed !== -1 && scan.corruptLine === undefined) {
      // A sound line that is not a valid record: the same damage to the reader, so the same repair.
      scan.salvaged.unshift(...scan.records.splice(unparsed));
      scan.corruptLine = unparsed + 1;
    }
    scan.records = scan.records.filter((r) => accepts(parse, r));
    scan.salvaged = scan.salvaged.filter((r) => accepts(parse, r));
    if (scan.corruptLine === undefined) {
      if (scan.tornBytes > 0 && o.repair) await RecordLog.open(path);
      files.push({ file: name, status: scan.tornBytes > 0 ? 'repaired-tail' : 'ok' });
    } else if (!o.repair) {
      files.push({ file: name, status: 'corrupt', detail: `record ${scan.corruptLine} is damaged` });
    } else {
      const aside = await moveAside(path);
      const { log } = await RecordLog.open(path);
      await log.compact([...scan.records, ...scan.salvaged]);
      const kept = scan.records.length + scan.salvaged.length;
      files.push({ file: name, status: 'repaired', detail: `moved aside to ${rel(aside)}; ${kept} verified records kept` });
    }
  }

  // ---- outbox files of the older format (carried into the log at the gateway's next start)
  const outboxDir = join(o.dataDir, 'outbox');
  const outbox = await readdir(outboxDir).catch((e: unknown) => (isErrno(e, 'ENOENT') ? [] : Promise.reject(e)));
  let movedOutbox = false;
  for (const name of outbox.filter((n) => /^[0-9a-f]{32}\.json$/.test(n))) {
    const path = join(outboxDir, name);
    try {
      JSON.parse(await readFile(path, 'utf8'));
    } catch {
      if (o.repair) {
        await moveAside(path);
        movedOutbox = true;
      }
      const detail = o.repair ? 'moved aside (a notification that cannot be read cannot be sent)' : 'not JSON';
      files.push({ file: rel(path), status: o.repair ? 'repaired' : 'corrupt', detail });
    }
  }
  if (movedOutbox) await fsyncDirectory(outboxDir);

  // A torn tail is what a crash leaves and what every open cuts: healthy either way.
  return { files, healthy: files.every((f) => f.status === 'ok' || f.status === 'repaired' || f.status === 'repaired-tail') };
}
