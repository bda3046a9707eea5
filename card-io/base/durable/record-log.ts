/**
 * An append-only log of JSON records, the way homegate keeps state that
 * grows with events (history months, intent journals): one line per record,
 *
 *     <crc32 of the JSON, 8 lowercase hex> <JSON>\n
 *
 * (CRC-32 as in ISO 3309 / zlib, over the UTF-8 bytes of the JSON). An
 * append is one write(2) of one line plus one fdatasync, so a change costs the
 * bytes of its record, not the size of the file.
 *
 * A crash mid-append can leave only the LAST line incomplete (no newline
 * yet, or zeros where the kernel extended the file before the data reached
 * the disk): `open` cuts such a tail (truncate + fsync) and reports it. Any
 * other bad line, a complete last line with a bad checksum included, is
 * damage no crash of ours makes: a RecordLogError('corrupt') naming the file
 * and line, never skipped.
 *
 * Rewriting (compaction) goes through replaceFileAtomically: temp file,
 * fsync, rename, directory fsync, so a crash leaves the old or the new log.
 *
 * Group commit (`append(r, { sync: 'group' })`): the record is written
 * without its own fdatasync and made durable together with others, at the
 * latest once GROUP_MAX_RECORDS such records wait or GROUP_MAX_DELAY_MS
 * after the first (or with the next synced append, whose fdatasync flushes
 * the whole file). For records another durable copy can restore after a power
 * cut within that window (a payment's archive entry and mail, which the
 * card's own log holds and the reconciliation at start restores): on an SD
 * card every fdatasync dirties a page again (4 KiB written for a 500-byte
 * record), so sharing one between several records is what makes the writes
 * per payment small. A crash of the process loses nothing either way (the
 * record is in the kernel's page cache once append resolves).
 *
 * Page filling (`append(r, { fillPageBelow, filler })`): when a record leaves
 * less than `fillPageBelow` bytes in its 4 KiB page, a filler record (one its
 * readers take as a no-op, padded with JSON whitespace) completes the page in
 * the same write. The page is dirty anyway; the next record then dirties one
 * clean page instead of straddling two. For logs written in small bursts
 * spaced out in time (a household's payments), where each dirtied page is
 * 4 KiB of flash written.
 */
import { open, readFile, stat, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';
import { CodedError } from '../coded-error.js';
import { fsyncDirectory, isErrno, replaceFileAtomically } from './atomic-file.js';

export type RecordLogErrorCode =
  /** A line other than the last fails its checksum or is not JSON. */
  | 'corrupt'
  /** The file changed under the log since its last read or append (size or mtime differ and it no longer holds what we wrote). */
  | 'changed';

export class RecordLogError extends CodedError<RecordLogErrorCode> {
  override readonly name = 'RecordLogError';
  readonly family = 'record-log';
  readonly path: string;

  constructor(code: RecordLogErrorCode, message: string, path: string, context: Record<string, unknown> = {}) {
    super(code, `${message}: ${path} (record-log:${code})`, { path, ...context });
    this.path = path;
  }
}

export function isRecordLogError(e: unknown, code?: RecordLogErrorCode): e is RecordLogError {
  return e instanceof RecordLogError && (code === undefined || e.code === code);
}

/** One record as a line of the log. */
export function encodeRecord(record: unknown): string {
  const json = JSON.stringify(record);
  if (json === undefined || json.includes('\n')) throw new TypeError('A record must be JSON on one line');
  return `${crc32(Buffer.from(json, 'utf8')).toString(16).padStart(8, '0')} ${json}\n`;
}

/** The page the kernel counts writes in (and a common flash page): what `fillPageBelow` aligns to. */
export const PAGE_BYTES = 4096;

/**
 * `filler` (a record its log's readers take as a no-op, a JSON object) as a
 * line of exactly `bytes` bytes, spaces before its closing brace (JSON
 * whitespace, so any reader of the format parses it); undefined when it does
 * not fit.
 */
export function encodeFiller(filler: unknown, bytes: number): string | undefined {
  const json = JSON.stringify(filler);
  if (json === undefined || !json.endsWith('}') || json.includes('\n')) throw new TypeError('A filler must be a JSON object on one line');
  const spaces = bytes - 10 - Buffer.byteLength(json);
  if (spaces < 0) return undefined;
  const padded = `${json.slice(0, -1)}${' '.repeat(spaces)}}`;
  return `${crc32(Buffer.from(padded, 'utf8')).toString(16).padStart(8, '0')} ${padded}\n`;
}

function decodeLine(line: Buffer): { ok: true; value: unknown } | { ok: false } {
  if (line.length < 10 || line[8] !== 0x20) return { ok: false };
  const sum = line.subarray(0, 8).toString('latin1');
  if (!/^[0-9a-f]{8}$/.test(sum)) return { ok: false };
  const body = line.subarray(9);
  if (crc32(body) !== Number.parseInt(sum, 16)) return { ok: false };
  try {
    return { ok: true, value: JSON.parse(body.toString('utf8')) };
  } catch {
    return { ok: false };
  }
}

export interface ScanResult {
  records: unknown[];
  /** Bytes of the sound records (where a repaired file ends). */
  goodBytes: number;
  /** Bytes of an incomplete last record (0 when the log ends cleanly). */
  tornBytes: number;
  /** The first bad line that is not the last one (1-based), when there is one. */
  corruptLine?: number;
  /** The sound records found AFTER the first bad line (for salvage by `homegate doctor`). */
  salvaged: unknown[];
}

/** Reads and checks a whole log; changes nothing. A missing file is an empty log. */
export async function scanRecordLog(path: string): Promise<ScanResult> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return { records: [], goodBytes: 0, tornBytes: 0, salvaged: [] };
    throw e;
  }
  const result: ScanResult = { records: [], goodBytes: 0, tornBytes: 0, salvaged: [] };
  let at = 0;
  let line = 0;
  while (at < data.length) {
    line += 1;
    const nl = data.indexOf(0x0a, at);
    const end = nl === -1 ? data.length : nl;
    const decoded = decodeLine(data.subarray(at, end));
    // A torn append has no newline yet, or zeros where its sectors never reached the disk; a
    // complete last line that fails its checksum was damaged after it was written.
    const torn = nl === -1 || (nl === data.length - 1 && data.subarray(at, end).includes(0));
    if (result.corruptLine !== undefined) {
      if (decoded.ok && nl !== -1) result.salvaged.push(decoded.value);
    } else if (decoded.ok && nl !== -1) {
      result.records.push(decoded.value);
      result.goodBytes = nl + 1;
    } else if (torn) {
      result.tornBytes = data.length - at;
    } else {
      result.corruptLine = line;
    }
    if (nl === -1) break;
    at = nl + 1;
  }
  return result;
}

export interface OpenedRecordLog<T> {
  log: RecordLog<T>;
  records: T[];
  /** Bytes of a torn last record that open cut off (0 if none). */
  repairedTailBytes: number;
}

export interface RecordLogOptions<T> {
  /** Validates one record and returns it typed; throwing makes the line count as damaged. Default: accept any JSON. */
  parse?: (value: unknown) => T;
  /** Mode of a created file. Default 0600. */
  mode?: number;
}

/** Group-committed records made durable together, at most this many (the card's log keeps 32 events: well within it). */
export const GROUP_MAX_RECORDS = 8;
/** ... and at most this long after the first of them, ms. */
export const GROUP_MAX_DELAY_MS = 1000;

/**
 * How an append reaches the disk: `true` (default) fdatasynced before it
 * resolves; `'group'` durable within GROUP_MAX_RECORDS records or
 * GROUP_MAX_DELAY_MS (see the file comment); `false` no fdatasync of its own
 * (durable with the next synced or group commit, or the kernel's writeback).
 */
export type AppendSync = boolean | 'group';

export interface AppendOptions<T> {
  /** See AppendSync. Default true. */
  sync?: AppendSync;
  /**
   * When fewer than this many bytes are left in the record's last 4 KiB page
   * after it, fill them with `filler` in the same write, so the next record
   * starts a clean page (a writer that knows what its next burst needs).
   */
  fillPageBelow?: number;
  /** A record the log's readers take as a no-op (a JSON object), for `fillPageBelow`. */
  filler?: T;
}

export class RecordLog<T> {
  readonly path: string;
  readonly #mode: number;
  readonly #parse: (value: unknown) => T;
  #size = 0;
  #mtimeMs = 0;
  #exists = false;
  #queue: Promise<unknown> = Promise.resolve();
  /** Group-committed records not yet fdatasynced. */
  #grouped = 0;
  #groupTimer: NodeJS.Timeout | undefined;

  private constructor(path: string, options: RecordLogOptions<T>) {
    this.path = path;
    this.#mode = options.mode ?? 0o600;
    this.#parse = options.parse ?? ((v) => v as T);
  }

  /**
   * Reads the log at `path` (a missing file is an empty log, created by the
   * first append), cuts a torn last record, and checks every other record.
   * RecordLogError('corrupt') when a record before the last is damaged or
   * `parse` refuses one; the file is then left untouched.
   */
  static async open<T>(path: string, options: RecordLogOptions<T> = {}): Promise<OpenedRecordLog<T>> {
    const log = new RecordLog<T>(path, options);
    const scan = await scanRecordLog(path);
    if (scan.corruptLine !== undefined) {
      throw new RecordLogError('corrupt', `Record ${scan.corruptLine} is damaged`, path, { line: scan.corruptLine });
    }
    const records = scan.records.map((value, i) => {
      try {
        return log.#parse(value);
      } catch {
        throw new RecordLogError('corrupt', `Record ${i + 1} is not a valid record`, path, { line: i + 1 });
      }
    });
    if (scan.tornBytes > 0) {
      await truncate(path, scan.goodBytes);
      const fh = await open(path, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
    await log.#remember();
    return { log, records, repairedTailBytes: scan.tornBytes };
  }

  /** True when the file exists (an empty log has none until its first append). */
  get exists(): boolean {
    return this.#exists;
  }

  /** Bytes in the file, as far as this log knows. */
  get size(): number {
    return this.#size;
  }

  /**
   * Appends one record: one write and one fdatasync; resolves to the bytes
   * written once they are durable. Appends run one at a time in call order.
   * With `sync: false` the fdatasync is left out: the record survives a crash
   * of the process (it is in the kernel's page cache) and reaches the disk
   * with the next synced append or the kernel's writeback, but a power cut may
   * lose it (never an earlier synced one). Only for records whose loss merely
   * repeats an idempotent step.
   * Refuses with RecordLogError('changed') when the file is not what this log
   * last left (another writer, or damage since open), writing nothing.
   */
  append(record: T, options: AppendOptions<T> = {}): Promise<number> {
    const mode = options.sync ?? true;
    const encoded = Buffer.from(encodeRecord(record), 'utf8');
    return this.#serial(async () => {
      const line = this.#withFiller(encoded, options);
      const created = !this.#exists;
      const fh = await open(this.path, 'a', this.#mode);
      try {
        const before = await fh.stat();
        if (before.size !== this.#size || (!created && before.mtimeMs !== this.#mtimeMs)) {
          throw new RecordLogError('changed', 'The log changed since it was read', this.path, { expected: this.#size, found: before.size });
        }
        await fh.write(line, 0, line.length);
        const sync = mode === true || (mode === 'group' && this.#grouped + 1 >= GROUP_MAX_RECORDS);
        if (sync) {
          await fh.datasync(); // flushes every record before this one too
          this.#groupDone();
        } else if (mode === 'group') {
          this.#grouped += 1;
          this.#groupTimer ??= setTimeout(() => void this.flush().catch(() => undefined), GROUP_MAX_DELAY_MS).unref();
        }
        const after = await fh.stat();
        this.#size = after.size;
        this.#mtimeMs = after.mtimeMs;
      } finally {
        await fh.close();
      }
      if (created) {
        await fsyncDirectory(dirname(this.path)); // the new name must survive power loss, too
        this.#exists = true;
      }
      return line.length;
    });
  }

  /**
   * The record's line, followed (in the same write) by a filler up to the end
   * of its last page when fewer than `fillPageBelow` bytes are left there:
   * the page is dirty anyway, and the next record then starts a clean page
   * instead of straddling two (each dirtied page costs 4 KiB of flash).
   */
  #withFiller(line: Buffer, options: AppendOptions<T>): Buffer {
    if (options.fillPageBelow === undefined || options.filler === undefined) return line;
    const left = PAGE_BYTES - ((this.#size + line.length) % PAGE_BYTES);
    if (left === PAGE_BYTES || left >= options.fillPageBelow) return line;
    const filler = encodeFiller(options.filler, left);
    return filler === undefined ? line : Buffer.concat([line, Buffer.from(filler, 'utf8')]);
  }

  /**
   * Makes every group-committed record durable now (one fdatasync; nothing
   * when none waits). A failure leaves them waiting for the next try.
   */
  flush(): Promise<void> {
    return this.#serial(async () => {
      if (this.#grouped === 0) return;
      const fh = await open(this.path, 'r');
      try {
        await fh.datasync();
      } finally {
        await fh.close();
      }
      this.#groupDone();
    });
  }

  /** Records still waiting for a group commit (0 when everything appended is durable). */
  get waiting(): number {
    return this.#grouped;
  }

  #groupDone(): void {
    this.#grouped = 0;
    clearTimeout(this.#groupTimer);
    this.#groupTimer = undefined;
  }

  /**
   * True when the file still is what this log last read or wrote (size and
   * mtime), without reading it: the cheap check before a state change.
   */
  async unchanged(): Promise<boolean> {
    await this.#queue;
    try {
      const s = await stat(this.path);
      return this.#exists && s.size === this.#size && s.mtimeMs === this.#mtimeMs;
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return !this.#exists;
      throw e;
    }
  }

  /** Replaces the whole log with `records`, atomically and durably. Resolves to the bytes written. */
  compact(records: readonly T[]): Promise<number> {
    const text = records.map(encodeRecord).join('');
    return this.#serial(async () => {
      await replaceFileAtomically(this.path, text, { mode: this.#mode });
      this.#groupDone(); // the new file is durable as a whole
      await this.#remember();
      return Buffer.byteLength(text);
    });
  }

  async #remember(): Promise<void> {
    try {
      const s = await stat(this.path);
      this.#size = s.size;
      this.#mtimeMs = s.mtimeMs;
      this.#exists = true;
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) throw e;
      this.#size = 0;
      this.#exists = false;
    }
  }

  #serial<R>(fn: () => Promise<R>): Promise<R> {
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
