/**
 * Which terminal asked for which payment, written durably BEFORE the card
 * debits. If the gateway dies between the card's PAY and the archive, the
 * reconciliation at the next start finds the card's record, and this journal
 * names the terminal to notify, so no decision stays without its mail.
 */
import { IntentJournal } from './intent-journal.js';

interface Intent {
  terminalId: string;
  mail: string;
  market: string;
  orderId: string;
  at: string;
}

export class PaymentIntents {
  private readonly journal: IntentJournal<Intent>;

  /** `legacyPath`: the JSON file of earlier versions, converted at the first read. */
  constructor(path: string, legacyPath?: string) {
    this.journal = new IntentJournal<Intent>(path, legacyPath);
  }

  /** Reads and checks the journal; rejects with RecordLogError('corrupt') when it is damaged. */
  open(): Promise<void> {
    return this.journal.open();
  }

  record(i: Omit<Intent, 'at'>): Promise<void> {
    // Bounded: an intent older than a day has long been reconciled or never paid.
    const cutoff = Date.now() - 86_400_000;
    return this.journal.add(i, (x) => Date.parse(x.at) > cutoff && !(x.market === i.market && x.orderId === i.orderId));
  }

  /** The terminal that asked to pay `orderId` at the market with this DNS name, if known. */
  async find(marketDnsName: string, orderId: string): Promise<Intent | undefined> {
    return (await this.journal.all()).find((x) => x.market === marketDnsName && x.orderId === orderId);
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
  private readonly journal: IntentJournal<LoadIntent>;

  /** `legacyPath`: the JSON file of earlier versions, converted at the first read. */
  constructor(path: string, legacyPath?: string) {
    this.journal = new IntentJournal<LoadIntent>(path, legacyPath);
  }

  /** Reads and checks the journal; rejects with RecordLogError('corrupt') when it is damaged. */
  open(): Promise<void> {
    return this.journal.open();
  }

  record(i: Omit<LoadIntent, 'at'>): Promise<void> {
    return this.journal.add(i, (x) => !(x.cardId === i.cardId && x.counter === i.counter));
  }

  clear(cardId: string, counter: number): Promise<void> {
    return this.journal.remove((x) => x.cardId === cardId && x.counter === counter);
  }

  pending(): Promise<LoadIntent[]> {
    return this.journal.all();
  }
}
