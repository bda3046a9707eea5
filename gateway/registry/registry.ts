/**
 * The gateway's small state: enrolled terminals, registered markets and
 * settings, in one lowdb JSON file written through FsyncJsonFile.
 *
 * Reads come from memory and are synchronous (the terminal listener looks a
 * fingerprint up on every request). Changes run one at a time through a
 * queue: each works on a copy, the copy is written durably, and only then
 * does it become the state that reads see. A failed write therefore changes
 * nothing, in memory or on disk. Returned records are copies.
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Low } from 'lowdb';
import type { Logger } from '../../card-io/base/log.js';
import { FsyncJsonFile } from './fsync-json-file.js';
import { RegistryError } from './registry-error.js';
import { checkRegistryPresent, witnessRegistry } from './registry-witness.js';
import {
  checkAnchorPem,
  checkMail,
  checkMarketName,
  checkTerminalName,
  emptyRegistry,
  normalizeFingerprint,
  parseMarketUrl,
  parseRegistryData,
  type MarketRecord,
  type RegistryData,
  type TerminalRecord,
  type TerminalRole,
} from './registry-schema.js';

/**
 * `touchTerminal` moves lastSeen (in memory) at most this often per terminal.
 */
export const TOUCH_INTERVAL_MS = 60_000;

/**
 * ... and writes it to the file at most this often per terminal (or with the
 * registry's next change, which writes the whole state). A household pays
 * minutes apart: writing lastSeen each minute would cost every payment a
 * registry rewrite (an atomic replace: a temp file's pages and a rename) on
 * top of its own 8 KiB (docs/PERFORMANCE.md). A restart may show a lastSeen
 * up to this much older than the last request.
 */
export const TOUCH_PERSIST_MS = 3_600_000;

export interface RegistryOptions {
  /** The JSON file, e.g. `<data>/registry.json`; its directory is created (0700) if missing. */
  path: string;
  logger: Logger;
  /** Milliseconds since the epoch. Default Date.now. */
  clock?: () => number;
  /** Fault-injection seam for tests, passed to FsyncJsonFile. Default fs.rename. */
  rename?: (from: string, to: string) => Promise<void>;
}

export interface NewTerminal {
  name: string;
  mail: string;
  /** SHA-256 of the DER client certificate, hex (colons and case are normalized). */
  certFingerprint: string;
}

export interface NewMarket {
  name: string;
  url: string;
  anchorPem: string;
}

export class Registry {
  readonly path: string;
  readonly #logger: Logger;
  readonly #clock: () => number;
  readonly #db: Low<RegistryData>;
  #opened = false;
  #witnessed = false;
  /** Each terminal's lastSeen as the file holds it (unix ms), for TOUCH_PERSIST_MS. */
  readonly #seenOnDisk = new Map<string, number>();
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: RegistryOptions) {
    this.path = options.path;
    this.#logger = options.logger.child({ channel: 'registry' });
    this.#clock = options.clock ?? Date.now;
    const adapter = new FsyncJsonFile<RegistryData>(options.path, {
      parse: parseRegistryData,
      logger: this.#logger,
      ...(options.rename ? { rename: options.rename } : {}),
    });
    this.#db = new Low<RegistryData>(adapter, emptyRegistry());
  }

  /**
   * Load the file (a missing file is an empty registry on a first start).
   * Throws RegistryError('corrupt'), or 'missing' when a registry written
   * before is gone, and leaves the files alone.
   */
  async open(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    await checkRegistryPresent(this.path);
    await this.#db.read();
    this.#witnessed = await witnessRegistry(this.path);
    this.#noteSeenOnDisk(this.#db.data);
    this.#opened = true;
    const { terminals, markets } = this.#db.data;
    this.#logger.info({ path: this.path, terminals: terminals.length, markets: markets.length }, 'Registry loaded');
  }

  // ---- terminals ----

  async addTerminal(t: NewTerminal): Promise<TerminalRecord> {
    const name = checkTerminalName(t.name);
    const mail = checkMail(t.mail);
    const certFingerprint = normalizeFingerprint(t.certFingerprint);
    return this.#change((data) => {
      if (data.terminals.some((x) => x.certFingerprint === certFingerprint)) {
        throw new RegistryError('duplicate', 'This certificate is already enrolled', { name });
      }
      if (data.terminals.some((x) => x.name === name && x.status === 'active')) {
        throw new RegistryError('duplicate', `An active terminal is already named ${name}`, { name });
      }
      let id: string;
      do id = randomBytes(8).toString('hex');
      while (data.terminals.some((x) => x.id === id));
      const record: TerminalRecord = { id, name, mail, certFingerprint, status: 'active', created: this.#now(), lastSeen: null };
      data.terminals.push(record);
      this.#logger.info({ terminalId: id, name }, 'Terminal added');
      return { ...record };
    });
  }

  /** Identification (API.md): the terminal whose client certificate has this fingerprint, revoked ones included. */
  findTerminalByFingerprint(certFingerprint: string): TerminalRecord | undefined {
    const fp = normalizeFingerprint(certFingerprint);
    const t = this.#data().terminals.find((x) => x.certFingerprint === fp);
    return t && { ...t };
  }

  getTerminal(id: string): TerminalRecord | undefined {
    const t = this.#data().terminals.find((x) => x.id === id);
    return t && { ...t };
  }

  listTerminals(): TerminalRecord[] {
    return this.#data().terminals.map((t) => ({ ...t }));
  }

  /** Idempotent: revoking a revoked terminal returns it unchanged (and writes nothing). */
  async revokeTerminal(id: string): Promise<TerminalRecord> {
    return this.#change((data, unchanged) => {
      const t = findOrThrow(data, id);
      if (t.status === 'revoked') return unchanged({ ...t });
      t.status = 'revoked';
      this.#logger.info({ terminalId: id, name: t.name }, 'Terminal revoked');
      return { ...t };
    });
  }

  /** The household's choice of who may cancel other terminals' payments (TerminalRole). */
  async setTerminalRole(id: string, role: TerminalRole): Promise<TerminalRecord> {
    return this.#change((data, unchanged) => {
      const t = findOrThrow(data, id);
      if ((t.role ?? 'member') === role) return unchanged({ ...t });
      t.role = role;
      this.#logger.info({ terminalId: id, role }, 'Terminal role set');
      return { ...t };
    });
  }

  /**
   * Record that the terminal was seen now, when its lastSeen is older than
   * TOUCH_INTERVAL_MS (checked again inside the queue, so a burst of requests
   * costs one change). The file is written only when the lastSeen it holds is
   * older than TOUCH_PERSIST_MS; otherwise the new lastSeen is kept in memory
   * and reaches the file with the next write. Resolves true when lastSeen moved.
   */
  async touchTerminal(id: string): Promise<boolean> {
    if (!this.#touchDue(this.#data(), id)) return false;
    const onDisk = this.#seenOnDisk.get(id);
    if (onDisk === undefined || this.#clock() - onDisk >= TOUCH_PERSIST_MS) {
      return this.#change((data, unchanged) => {
        if (!this.#touchDue(data, id)) return unchanged(false);
        findOrThrow(data, id).lastSeen = this.#now();
        return true;
      });
    }
    const run = this.#queue.then(() => {
      const data = this.#data();
      if (!this.#touchDue(data, id)) return false;
      const lastSeen = this.#now();
      this.#db.data = { ...data, terminals: data.terminals.map((t) => (t.id === id ? { ...t, lastSeen } : t)) };
      return true;
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  // ---- markets ----

  async addMarket(m: NewMarket): Promise<MarketRecord> {
    const name = checkMarketName(m.name);
    const { url, host, port } = parseMarketUrl(m.url);
    const anchorPem = checkAnchorPem(m.anchorPem);
    return this.#change((data) => {
      if (data.markets.some((x) => x.name === name)) {
        throw new RegistryError('duplicate', `A market named ${name} exists`, { name });
      }
      const record: MarketRecord = { name, url, host, port, anchorPem, created: this.#now() };
      data.markets.push(record);
      this.#logger.info({ market: name, host, port }, 'Market added');
      return { ...record };
    });
  }

  getMarket(name: string): MarketRecord | undefined {
    const m = this.#data().markets.find((x) => x.name === name);
    return m && { ...m };
  }

  listMarkets(): MarketRecord[] {
    return this.#data().markets.map((m) => ({ ...m }));
  }

  async removeMarket(name: string): Promise<void> {
    return this.#change((data) => {
      const i = data.markets.findIndex((x) => x.name === name);
      if (i < 0) throw new RegistryError('not-found', `No market named ${name}`, { name });
      data.markets.splice(i, 1);
      this.#logger.info({ market: name }, 'Market removed');
    });
  }

  // ---- settings ----

  getSettings(): Record<string, unknown> {
    return structuredClone(this.#data().settings);
  }

  /** Shallow merge; a key set to undefined is removed. */
  async updateSettings(patch: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.#change((data) => {
      for (const [key, value] of Object.entries(patch)) {
        if (value === undefined) delete data.settings[key];
        else data.settings[key] = structuredClone(value);
      }
      return structuredClone(data.settings);
    });
  }

  // ---- internals ----

  #data(): RegistryData {
    if (!this.#opened) throw new RegistryError('not-open', 'The registry is not open');
    return this.#db.data;
  }

  #now(): string {
    return new Date(this.#clock()).toISOString();
  }

  #noteSeenOnDisk(data: RegistryData): void {
    this.#seenOnDisk.clear();
    for (const t of data.terminals) if (t.lastSeen !== null) this.#seenOnDisk.set(t.id, Date.parse(t.lastSeen));
  }

  #touchDue(data: RegistryData, id: string): boolean {
    const t = findOrThrow(data, id);
    return t.lastSeen === null || this.#clock() - Date.parse(t.lastSeen) >= TOUCH_INTERVAL_MS;
  }

  /**
   * Run `change` on a copy of the state, after every earlier change; write
   * the copy durably and only then publish it. `change` throwing (a
   * duplicate, a missing id) or returning through `unchanged` writes nothing.
   */
  #change<R>(change: (draft: RegistryData, unchanged: <V>(result: V) => V) => R): Promise<R> {
    const run = this.#queue.then(async () => {
      const draft = structuredClone(this.#data());
      let write = true;
      const result = change(draft, (r) => ((write = false), r));
      if (!write) return result;
      await this.#db.adapter.write(draft);
      this.#db.data = draft;
      this.#noteSeenOnDisk(draft);
      if (!this.#witnessed) this.#witnessed = await witnessRegistry(this.path);
      return result;
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

function findOrThrow(data: RegistryData, id: string): TerminalRecord {
  const t = data.terminals.find((x) => x.id === id);
  if (!t) throw new RegistryError('not-found', `No terminal with id ${id}`, { terminalId: id });
  return t;
}
