/**
 * Refuses state changes while the gateway's durable record is damaged.
 *
 * The card is authoritative for money, but a payment the gateway cannot
 * archive is a payment nobody is mailed about, nobody presents, and that a
 * terminal retries (debiting twice). So pay, cancel and top-up first ask the
 * guard: the history (checked at open, re-checked per call with one stat per
 * recent month) and the intent journals (checked at start) must be sound. If
 * not, the call is refused with 503 `archive-damaged` naming the files
 * (relative to the data directory) BEFORE the card is touched; reads
 * (balance, history of sound months) keep being served. `homegate doctor
 * --repair` fixes what can be fixed.
 */
import { relative } from 'node:path';
import { isRecordLogError } from '../../card-io/base/durable/record-log.js';
import type { Logger } from '../../card-io/base/log.js';
import type { HistoryStore } from '../history/index.js';
import { EmoneyError } from './emoney-error.js';

export interface CheckedJournal {
  readonly path: string;
  open(): Promise<void>;
}

export class ArchiveGuard {
  readonly #journalDamage = new Set<string>();

  constructor(
    private readonly dataDir: string,
    private readonly history: HistoryStore,
    private readonly logger: Logger,
  ) {}

  /** Opens each journal, noting (not throwing) the damaged ones; other errors propagate. */
  async openJournals(journals: readonly CheckedJournal[]): Promise<void> {
    for (const journal of journals) {
      try {
        await journal.open();
      } catch (e) {
        if (!isRecordLogError(e)) throw e;
        this.#journalDamage.add(journal.path);
        this.logger.error({ path: journal.path }, 'A journal is damaged; state changes are refused until `homegate doctor --repair`');
      }
    }
  }

  /** Damaged files, relative to the data directory; empty when the archive is sound. */
  async damagedFiles(): Promise<string[]> {
    const history = (await this.history.check()).map((d) => d.path);
    return [...history, ...this.#journalDamage].map((p) => relative(this.dataDir, p));
  }

  /** Resolves when state may change; else EmoneyError archive-damaged naming the files. */
  async guard(): Promise<void> {
    const files = await this.damagedFiles();
    if (files.length === 0) return;
    throw new EmoneyError('archive-damaged', `The gateway's archive is damaged (${files.join(', ')}); nothing was changed. Run \`homegate doctor --repair\`.`, {
      files: files.join(','),
    });
  }

  /** `target` with `methods` refused (before they run) while the archive is damaged. */
  wrap<T extends object>(target: T, methods: ReadonlyArray<keyof T & string>): T {
    return new Proxy(target, {
      get: (obj, name, receiver) => {
        const value = Reflect.get(obj, name, receiver) as unknown;
        if (typeof value !== 'function') return value;
        if (!(methods as readonly (string | symbol)[]).includes(name)) return (value as (...a: unknown[]) => unknown).bind(obj);
        return async (...args: unknown[]) => {
          await this.guard();
          return (value as (...a: unknown[]) => Promise<unknown>).apply(obj, args);
        };
      },
    });
  }
}
