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
  /** The issuer's reservation for this load: committed on the card's receipt, voided if the card has not loaded it. */
  reservationId?: string;
  /** The card challenge (base64) the authorization is bound to: the card's receipt for this load carries it. */
  challenge?: string;
  /** The card's signed receipt (base64), once known, while the issuer commit is still to be done. */
  receipt?: string;
  at: string;
}

/**
 * Top-ups in flight, written durably just before the card's LOAD and removed
 * once the load is archived, mailed and committed at the issuer, or the card
 * refused it and the issuer released it. When the gateway dies, or the line
 * drops, after LOAD was sent, the settlement (load-settlement.ts) asks the
 * card: its latest load receipt (GET DATA DF43) carries this load's challenge
 * if and only if it was done.
 */
export class LoadIntents {
  private readonly journal: IntentJournal<LoadIntent>;
  /** Loads whose top-up is still running in this process: not for the reconciler to settle. */
  private readonly running = new Set<string>();

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

  /** Mark a top-up as running here (until `end`), so `pending` leaves it to its own run. */
  begin(cardId: string, counter: number): void {
    this.running.add(`${cardId}:${counter}`);
  }

  end(cardId: string, counter: number): void {
    this.running.delete(`${cardId}:${counter}`);
  }

  /** The journaled loads no top-up in this process is working on. */
  async pending(): Promise<LoadIntent[]> {
    return (await this.journal.all()).filter((x) => !this.running.has(`${x.cardId}:${x.counter}`));
  }
}
