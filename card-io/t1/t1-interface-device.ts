/**
 * The interface-device (reader) side of T=1, ISO/IEC 7816-3:2006 §11.6.
 * It turns one command APDU into I-blocks (chained when longer than IFSC),
 * collects the card's possibly chained answer, and recovers from lost or
 * damaged blocks with R-blocks, then S(RESYNCH). Rules implemented:
 *
 *  - rule 1: the interface device sends the first block;
 *  - rule 2: I-blocks alternate N(S); the card's I-block acknowledges ours;
 *  - rule 3: S(WTX request) is answered at once and extends the next wait to BWT × multiplier;
 *  - rule 4: S(IFS request) from either side sets the peer's IFS, answered with S(IFS response);
 *  - rule 5: chaining: an I-block with M=1 is acknowledged by R(N(R) = next N(S));
 *  - rule 6.4 / 7.4: after maxRetries failed attempts, S(RESYNCH) up to maxRetries times;
 *  - rule 7.1: a damaged, invalid or missing block is answered with R(N(R) = the expected
 *    N(S), EDC or "other" error); an R-block whose N(R) names our last I-block asks for it again;
 *  - rule 9: S(ABORT request) from the card ends the exchange.
 *
 * The APDU itself is never retried here: after a resynchronization the command may
 * or may not have run, so the caller gets CardError(Resynchronized) and decides.
 *
 * Link epochs: every disconnected/connected report of the link starts a new
 * epoch. An exchange belongs to the epoch it started in; when the epoch changes
 * under it (the line dropped, the card behind it may be freshly powered), the
 * exchange is abandoned with CardError(ExchangeInterrupted): the blocks not yet
 * sent are dropped, never sent to the new card session, where a chain's tail
 * would run as a command of its own; and the next command starts with
 * S(RESYNCH), which restarts both sequence numbers (§11.6.3.2, rule 6.4).
 */
import { CardError, CardErrorCode, isCardError } from '../errors.js';
import type { ByteLink } from '../link/link.js';
import type { Logger } from '../base/log.js';
import type { ApduTransport } from './apdu-transport.js';
import { DEFAULT_IFS, iBlock, rBlock, sBlock, type Block, type IBlock, type SBlock, type SeqNo } from './block.js';
import { BlockChannel, type ReceiveResult } from './block-channel.js';
import { resolveT1Options, type ResolvedT1Options, type T1Options } from './t1-options.js';

export interface T1InterfaceDeviceOptions extends T1Options {
  link: ByteLink;
  logger: Logger;
}

/** Split an APDU into INF fields of at most `size` bytes. */
export function splitInf(bytes: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out.length ? out : [Buffer.alloc(0)];
}

export class T1InterfaceDevice implements ApduTransport {
  private readonly opts: ResolvedT1Options;
  private readonly channel: BlockChannel;
  private readonly log: Logger;
  private ns: SeqNo = 0;
  private cardNs: SeqNo = 0;
  private ifsc: number;
  /** The card's sequence numbers are unknown until the first S(RESYNCH) (see start()). */
  private needsResynch = true;
  private busy = false;
  /** Bumped on every link status change; an exchange never outlives its epoch. */
  private epoch = 0;
  /** Why abort() ended this interface device (the card was pulled): every transmit from then on fails with it. */
  private abortReason: ((sent: boolean) => CardError) | undefined;
  /** Whether the current transmit's first block went out (so the card may have run the command). */
  private commandSent = false;
  /** Counters for benchmarks and diagnostics. */
  readonly stats = { apdus: 0, blocksSent: 0, retransmissions: 0, resynchs: 0, wtx: 0 };

  constructor(options: T1InterfaceDeviceOptions) {
    this.opts = resolveT1Options(options);
    this.log = options.logger;
    this.ifsc = this.opts.ifsc;
    const { nad, edc, cwtMs } = this.opts;
    this.channel = new BlockChannel({ link: options.link, logger: options.logger, side: 'ifd', nad, edc, cwtMs });
    // A re-opened line may lead to a card that was powered off or that kept old sequence numbers.
    this.unsubscribeStatus = options.link.onStatus((status) => {
      if (status !== 'connected' && status !== 'disconnected') return;
      this.epoch++;
      this.needsResynch = true;
      // A receive waiting for the old card session's answer ends now, not at BWT.
      this.channel.interrupt();
    });
  }

  private readonly unsubscribeStatus: () => void;
  /** When the current transmit (or start) must end: its start plus options.maxTransmitMs. */
  private transmitDeadline = 0;

  /**
   * Bring both sides to a known state: S(RESYNCH) (rule 6.4), then announce a
   * non-default IFSD (rule 4). Also done lazily by the first transmit.
   */
  async start(): Promise<void> {
    this.transmitDeadline = Date.now() + this.opts.maxTransmitMs;
    await this.resynchronize();
  }

  async transmit(apdu: Buffer): Promise<Buffer> {
    if (this.busy) throw new CardError(CardErrorCode.ProtocolError, 'T=1 transmit while another is in progress');
    if (this.abortReason) throw this.abortReason(false);
    this.busy = true;
    this.commandSent = false;
    this.stats.apdus++;
    this.transmitDeadline = Date.now() + this.opts.maxTransmitMs;
    try {
      const epoch = this.epoch;
      if (this.needsResynch) await this.resynchronize();
      try {
        return await this.exchange(apdu, epoch);
      } catch (e) {
        // Whatever failed after the link changed (a write on a dropped line, a timeout) is an interruption.
        throw this.epoch !== epoch ? this.interrupted(e) : e;
      }
    } catch (e) {
      // A broken link or a lost exchange leaves the sequence numbers in doubt.
      if (!(e instanceof CardError) || e.code !== CardErrorCode.Aborted) this.needsResynch = true;
      throw e;
    } finally {
      this.busy = false;
    }
  }

  /**
   * Ends this interface device for good (the card was pulled from its
   * socket; the next activation builds a new one): a receive in progress
   * returns now, no further block is sent, and the transmit rejects with the
   * error `reason` builds, told whether the command's first block had gone
   * out (then its outcome is unknown). Later transmits fail at once.
   */
  abort(reason: (sent: boolean) => CardError): void {
    this.abortReason = reason;
    this.epoch++;
    this.needsResynch = true;
    this.channel.interrupt();
  }

  close(): void {
    this.unsubscribeStatus();
    this.channel.close();
  }

  private interrupted(cause?: unknown): CardError {
    if (this.abortReason) return this.abortReason(this.commandSent);
    if (isCardError(cause, CardErrorCode.ExchangeInterrupted)) return cause;
    return new CardError(CardErrorCode.ExchangeInterrupted, 'The card line dropped or was reset during the command; it may or may not have run', {}, { cause });
  }

  /** Throws ExchangeInterrupted when the link changed since the exchange began. */
  private checkEpoch(epoch: number): void {
    if (this.epoch !== epoch) throw this.interrupted();
  }

  private async send(block: Block): Promise<void> {
    this.stats.blocksSent++;
    await this.channel.send(block);
  }

  private async exchange(apdu: Buffer, epoch: number): Promise<Buffer> {
    const chunks = splitInf(apdu, this.ifsc);
    let index = 0;
    let lastI: IBlock = iBlock(this.ns, chunks.length > 1, chunks[0]!);
    let lastSent: Block = lastI;
    let receiving = false;
    const response: Buffer[] = [];
    let retries = 0;
    let waitMs = this.opts.bwtMs;
    // Every block goes out only within the exchange's epoch.
    const send = async (b: Block): Promise<void> => {
      this.checkEpoch(epoch);
      // From the first byte on the wire, the card may run the command.
      this.commandSent = true;
      await this.send(b);
    };
    await send(lastI);
    for (;;) {
      // Every wait is bounded (BWT, WTX), their number is not: a card that keeps asking for
      // time or for a new IFSC, or chains its answer forever, is given up on (maxTransmitMs).
      if (Date.now() >= this.transmitDeadline) return this.giveUp();
      const ev = await this.channel.receive(waitMs);
      this.checkEpoch(epoch);
      waitMs = this.opts.bwtMs;
      if (ev.type === 'block') {
        const b = ev.block;
        if (b.kind === 'S' && !b.response) {
          const wtxMs = b.type === 'WTX' ? this.grantWtx(b.inf[0]!) : undefined;
          if (wtxMs !== undefined) {
            this.stats.wtx++;
            waitMs = wtxMs;
            await send(sBlock('WTX', true, b.inf));
            continue;
          }
          if (b.type === 'IFS') {
            this.ifsc = b.inf[0]!;
            await send(sBlock('IFS', true, b.inf));
            continue;
          }
          if (b.type === 'ABORT') {
            await send(sBlock('ABORT', true));
            throw new CardError(CardErrorCode.Aborted, 'The card aborted the exchange');
          }
        } else if (b.kind === 'R' && !receiving) {
          if (lastI.more && b.nr !== lastI.ns) {
            // Rule 5: chained block acknowledged; send the next one.
            this.ns = (this.ns ^ 1) as SeqNo;
            index++;
            lastI = iBlock(this.ns, index < chunks.length - 1, chunks[index]!);
            lastSent = lastI;
            retries = 0;
            await send(lastI);
            continue;
          }
          if (b.nr === lastI.ns) {
            // Rule 7.1: the card asks for our I-block again.
            if (++retries > this.opts.maxRetries) return this.giveUp();
            this.stats.retransmissions++;
            lastSent = lastI;
            await send(lastI);
            continue;
          }
        } else if (b.kind === 'I' && b.ns !== this.cardNs) {
          // A repeat of the card's previous I-block (a duplicate on the wire): already taken.
          continue;
        } else if (b.kind === 'I' && (receiving || !lastI.more)) {
          if (!receiving) {
            // Rule 2: the card's I-block acknowledges our last I-block.
            this.ns = (this.ns ^ 1) as SeqNo;
            receiving = true;
          }
          response.push(b.inf);
          this.cardNs = (this.cardNs ^ 1) as SeqNo;
          retries = 0;
          if (!b.more) return Buffer.concat(response);
          lastSent = rBlock(this.cardNs);
          await send(lastSent);
          continue;
        }
      }
      // Rule 7.1: damaged, invalid, unexpected or missing block.
      if (++retries > this.opts.maxRetries) return this.giveUp();
      this.stats.retransmissions++;
      this.log.debug({ event: ev.type, retries }, 'T=1 error recovery');
      lastSent = this.errorReply(ev, receiving, lastSent);
      await send(lastSent);
    }
  }

  private errorReply(ev: ReceiveResult, receiving: boolean, lastSent: Block): Block {
    const error = ev.type === 'bad-edc' ? 'edc' : 'other';
    // While we receive a chain, our last block was an R-block: repeat it with the error flag.
    if (receiving && lastSent.kind === 'R') return rBlock(lastSent.nr, error);
    return rBlock(this.cardNs, error);
  }

  /** Rule 7.4: too many failed attempts on one block; resynchronize and report the loss. */
  private async giveUp(): Promise<never> {
    await this.resynchronize();
    throw new CardError(CardErrorCode.Resynchronized, 'The card did not answer correctly; the T=1 link was resynchronized and the command may not have run');
  }

  /** Rule 6.4: S(RESYNCH) resets both sequence numbers and the IFS values. */
  private async resynchronize(): Promise<void> {
    this.stats.resynchs++;
    this.needsResynch = true;
    await this.supervisory(sBlock('RESYNCH', false));
    this.ns = 0;
    this.cardNs = 0;
    this.ifsc = this.opts.ifsc;
    this.channel.clear();
    this.needsResynch = false;
    this.log.info({ event: 'resynchronized' }, 'T=1 link resynchronized');
    if (this.opts.ifsd !== DEFAULT_IFS) await this.supervisory(sBlock('IFS', false, [this.opts.ifsd]));
  }

  /**
   * Send an S-request and wait for its response (rule 7.3): blocks that are not
   * the response are ignored until BWT runs out, then the request goes again,
   * up to maxRetries times.
   */
  private async supervisory(request: SBlock): Promise<void> {
    for (let attempt = 0; attempt <= this.opts.maxRetries; attempt++) {
      await this.send(request);
      let deadline = Date.now() + this.opts.bwtMs;
      for (let left = this.opts.bwtMs; left > 0; left = deadline - Date.now()) {
        const ev = await this.channel.receive(left);
        if (ev.type === 'timeout') break;
        if (ev.type !== 'block' || ev.block.kind !== 'S') continue;
        if (ev.block.response && ev.block.type === request.type) return;
        const wtxMs = !ev.block.response && ev.block.type === 'WTX' ? this.grantWtx(ev.block.inf[0]!) : undefined;
        if (wtxMs !== undefined) {
          deadline = Date.now() + wtxMs;
          await this.send(sBlock('WTX', true, ev.block.inf));
        }
      }
    }
    throw new CardError(CardErrorCode.BlockTimeout, `The card is not responding (no answer to S(${request.type}))`);
  }

  /**
   * Rule 3: the wait granted for S(WTX request) with this multiplier, BWT x
   * multiplier, cut at the transmit's deadline (maxTransmitMs); undefined once
   * the deadline has passed: the request is then not granted (an invalid block).
   */
  private grantWtx(multiplier: number): number | undefined {
    const left = this.transmitDeadline - Date.now();
    if (left <= 0) return undefined;
    return Math.min(this.opts.bwtMs * multiplier, left);
  }
}
