/**
 * Which terminal asked for which payment, written durably BEFORE the card
 * debits. If the gateway dies between the card's PAY and the archive, the
 * reconciliation at the next start finds the card's record, and this journal
 * names the terminal to notify, so no decision stays without its mail.
 */
import { FsyncJsonFile } from '../registry/fsync-json-file.js';

interface Intent {
  terminalId: string;
  mail: string;
  market: string;
  orderId: string;
  at: string;
}

export class PaymentIntents {
  private readonly file: FsyncJsonFile<Intent[]>;
  private intents: Intent[] | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(path: string) {
    this.file = new FsyncJsonFile<Intent[]>(path);
  }

  private async load(): Promise<Intent[]> {
    this.intents ??= (await this.file.read()) ?? [];
    return this.intents;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  record(i: Omit<Intent, 'at'>): Promise<void> {
    return this.serial(async () => {
      // Bounded: an intent older than a day has long been reconciled or never paid.
      const cutoff = Date.now() - 86_400_000;
      const kept = (await this.load()).filter((x) => Date.parse(x.at) > cutoff && !(x.market === i.market && x.orderId === i.orderId));
      this.intents = [...kept, { ...i, at: new Date().toISOString() }];
      await this.file.write(this.intents);
    });
  }

  /** The terminal that asked to pay `orderId` at the market with this DNS name, if known. */
  async find(marketDnsName: string, orderId: string): Promise<Intent | undefined> {
    return (await this.load()).find((x) => x.market === marketDnsName && x.orderId === orderId);
  }
}

/** A top-up whose LOAD was sent to the card, with what the card's purse shows once it is done. */
export interface LoadIntent {
  terminalId: string;
  mail: string;
  cardId: string;
  amount: number;
  currency: string;
  /** The card's transaction counter and balance after this LOAD. */
  counter: number;
  balance: number;
  at: string;
}

/**
 * Top-ups in flight, written durably just before the card's LOAD and removed
 * once the load is archived and mailed, or the card refused it. The card keeps
 * no log of loads: when the gateway dies, or the line drops, after LOAD was
 * sent, the reconciliation tells from the card's counter and balance whether
 * it was done, and archives and mails it.
 */
export class LoadIntents {
  private readonly file: FsyncJsonFile<LoadIntent[]>;
  private intents: LoadIntent[] | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(path: string) {
    this.file = new FsyncJsonFile<LoadIntent[]>(path);
  }

  private async load(): Promise<LoadIntent[]> {
    this.intents ??= (await this.file.read()) ?? [];
    return this.intents;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  record(i: Omit<LoadIntent, 'at'>): Promise<void> {
    return this.serial(async () => {
      const kept = (await this.load()).filter((x) => !(x.cardId === i.cardId && x.counter === i.counter));
      this.intents = [...kept, { ...i, at: new Date().toISOString() }];
      await this.file.write(this.intents);
    });
  }

  clear(cardId: string, counter: number): Promise<void> {
    return this.serial(async () => {
      const all = await this.load();
      const kept = all.filter((x) => !(x.cardId === cardId && x.counter === counter));
      if (kept.length === all.length) return;
      this.intents = kept;
      await this.file.write(kept);
    });
  }

  async pending(): Promise<LoadIntent[]> {
    return this.serial(async () => [...(await this.load())]);
  }
}
