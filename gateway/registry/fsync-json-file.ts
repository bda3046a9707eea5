/**
 * A lowdb adapter that replaces its JSON file atomically and durably, so that
 * power loss mid-write leaves the old or the new content, never a mix
 * (docs/ARCHITECTURE.md, state and durability).
 *
 * A write goes to `<file>.tmp` in the same directory (mode 0600), is fsynced
 * there, renamed over the file (rename(2) is atomic within one file system),
 * and then the directory is fsynced so that the rename itself survives power
 * loss. lowdb's own TextFile adapter (steno) renames without fsync: after a
 * power cut ext4 may then present an empty file, which is why this exists.
 *
 * A file that does not parse, or that `parse` rejects, is a
 * RegistryError('corrupt'): it is never replaced by defaults, because that
 * would silently forget every enrolled terminal. A `.tmp` left by a crash
 * never became the file; `read()` removes it.
 */
import { readFile, rename, unlink } from 'node:fs/promises';
import { isErrno, replaceFileAtomically } from '../../card-io/base/durable/atomic-file.js';
import type { Adapter } from 'lowdb';
import { silentLogger, type Logger } from '../../card-io/base/log.js';
import { RegistryError } from './registry-error.js';

export interface FsyncJsonFileOptions<T> {
  /**
   * Validates the parsed JSON and returns it typed; throws when it is not a T.
   * Default: accept any JSON (no validation).
   */
  parse?: (value: unknown) => T;
  /** File mode of the written file. Default 0600: the registry names terminals and mail addresses. */
  mode?: number;
  logger?: Logger;
  /** Fault-injection seam for tests (a failing rename is a crash before the switch). Default fs.rename. */
  rename?: (from: string, to: string) => Promise<void>;
}

export class FsyncJsonFile<T> implements Adapter<T> {
  readonly path: string;
  readonly #tempPath: string;
  readonly #parse: (value: unknown) => T;
  readonly #mode: number;
  readonly #logger: Logger;
  readonly #rename: (from: string, to: string) => Promise<void>;
  // Writes share one temp file, so they run one at a time, in call order.
  #queue: Promise<unknown> = Promise.resolve();

  constructor(path: string, options: FsyncJsonFileOptions<T> = {}) {
    this.path = path;
    this.#tempPath = `${path}.tmp`;
    this.#parse = options.parse ?? ((value) => value as T);
    this.#mode = options.mode ?? 0o600;
    this.#logger = options.logger ?? silentLogger;
    this.#rename = options.rename ?? rename;
  }

  /** The content, or null when the file does not exist (lowdb then keeps its defaults). */
  async read(): Promise<T | null> {
    await this.#queue; // a write of this process is not a stale temp file
    await this.#removeStaleTemp();
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return null;
      throw e;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new RegistryError('corrupt', 'The file is not valid JSON', { path: this.path }, { cause: e });
    }
    try {
      return this.#parse(value);
    } catch (e) {
      throw new RegistryError('corrupt', 'The file does not hold the expected data', { path: this.path }, { cause: e });
    }
  }

  /** Resolves once the new content is durable; on rejection the old file is intact. */
  write(data: T): Promise<void> {
    const run = this.#queue.then(() => this.#replace(`${JSON.stringify(data, null, 2)}\n`));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #replace(text: string): Promise<void> {
    await replaceFileAtomically(this.path, text, { mode: this.#mode, tempPath: this.#tempPath, rename: this.#rename });
  }

  async #removeStaleTemp(): Promise<void> {
    try {
      await unlink(this.#tempPath);
      this.#logger.warn({ path: this.#tempPath }, 'Removed a stale temp file (an interrupted write); the last complete state is kept');
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) throw e;
    }
  }
}
