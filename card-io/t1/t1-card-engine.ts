/**
 * The card side of T=1 (ISO/IEC 7816-3:2006 §11.6), used by the emulator.
 * It answers blocks as a card on a UART does: it assembles chained I-blocks
 * (acknowledging each with an R-block, rule 5), hands the complete command APDU
 * to the applet, asks for more time with S(WTX) while the applet is slow
 * (rule 3), chains a long answer by IFSD, and recovers from errors:
 *
 *  - a damaged or invalid block is answered with R(expected N(S), error) (rule 7.1);
 *  - an R-block naming our last I-block gets that block again (rule 7.2);
 *  - a repeated I-block (its N(S) is not the one expected) gets our last block again,
 *    so a command is never executed twice because an answer was lost;
 *  - S(RESYNCH) resets the sequence numbers and IFSD (rule 6.4), S(IFS) sets IFSD
 *    (rule 4), S(ABORT) drops a chain (rule 9).
 *
 * The card never times out: it only ever answers.
 */
import type { ByteLink } from '../link/link.js';
import type { Logger } from '../base/log.js';
import { encodeResponseApdu, responseApdu } from '../apdu/response-apdu.js';
import { SW } from '../apdu/status-words.js';
import { iBlock, rBlock, sBlock, type Block, type IBlock, type SeqNo } from './block.js';
import { BlockChannel } from './block-channel.js';
import { resolveT1Options, type ResolvedT1Options, type T1Options } from './t1-options.js';
import { splitInf } from './t1-interface-device.js';

export interface CommandProcessor {
  /** Raw command APDU in, raw response APDU out. Must not throw (a throw answers 6F00). */
  process(apdu: Buffer): Promise<Buffer>;
}

export interface T1CardEngineOptions extends T1Options {
  link: ByteLink;
  logger: Logger;
  processor: CommandProcessor;
  /** WTX multiplier requested while the applet is busy. 1..255, default 2. */
  wtxMultiplier?: number;
}

const IDLE_WAIT_MS = 3_600_000;

export class T1CardEngine {
  private readonly opts: ResolvedT1Options;
  private readonly channel: BlockChannel;
  private readonly log: Logger;
  private expectedIfdNs: SeqNo = 0;
  private ns: SeqNo = 0;
  private ifsd: number;
  private lastSent: Block | undefined;
  private lastI: IBlock | undefined;
  private rxChain: Buffer[] = [];
  private txChunks: Buffer[] = [];
  private running = false;
  private stopped: Promise<void> | undefined;

  constructor(private readonly options: T1CardEngineOptions) {
    this.opts = resolveT1Options(options);
    this.log = options.logger;
    this.ifsd = this.opts.ifsd;
    const { nad, edc, cwtMs } = this.opts;
    this.channel = new BlockChannel({ link: options.link, logger: options.logger, side: 'card', nad, edc, cwtMs });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopped = this.loop();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.channel.close();
    await this.stopped;
  }

  /** Forget the protocol state, as after power-on (the link was re-opened). */
  resetProtocol(): void {
    this.expectedIfdNs = 0;
    this.ns = 0;
    this.ifsd = this.opts.ifsd;
    this.lastSent = undefined;
    this.lastI = undefined;
    this.rxChain = [];
    this.txChunks = [];
    this.channel.clear();
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const ev = await this.channel.receive(IDLE_WAIT_MS, false);
      if (!this.running) break;
      try {
        if (ev.type === 'timeout') continue;
        if (ev.type === 'block') await this.onBlock(ev.block);
        else await this.send(rBlock(this.expectedIfdNs, ev.type === 'bad-edc' ? 'edc' : 'other'));
      } catch (e) {
        // A write on a vanished link: the next block (after reconnect) starts afresh.
        this.log.warn({ err: (e as Error).message }, 'card engine could not answer');
      }
    }
  }

  private async send(block: Block): Promise<void> {
    this.lastSent = block;
    if (block.kind === 'I') this.lastI = block;
    await this.channel.send(block);
  }

  private async onBlock(b: Block): Promise<void> {
    switch (b.kind) {
      case 'I':
        return this.onIBlock(b);
      case 'R':
        if (this.txChunks.length && b.nr === this.ns) return this.sendNextChunk();
        if (this.lastI && b.nr === this.lastI.ns) return this.send(this.lastI);
        return this.send(rBlock(this.expectedIfdNs));
      case 'S':
        if (b.response) return this.send(rBlock(this.expectedIfdNs, 'other'));
        return this.onSRequest(b.type, b.inf);
    }
  }

  private async onSRequest(type: string, inf: Buffer): Promise<void> {
    switch (type) {
      case 'RESYNCH':
        this.resetProtocol();
        return this.send(sBlock('RESYNCH', true));
      case 'IFS':
        this.ifsd = inf[0]!;
        return this.send(sBlock('IFS', true, inf));
      case 'ABORT':
        this.rxChain = [];
        this.txChunks = [];
        return this.send(sBlock('ABORT', true));
      default:
        return this.send(rBlock(this.expectedIfdNs, 'other'));
    }
  }

  private async onIBlock(b: IBlock): Promise<void> {
    if (b.ns !== this.expectedIfdNs) {
      // A repeat of a block we already took: answer as before, do not run it again.
      return this.send(this.lastSent ?? rBlock(this.expectedIfdNs));
    }
    if (b.inf.length > this.opts.ifsc) return this.send(rBlock(this.expectedIfdNs, 'other'));
    this.expectedIfdNs = (this.expectedIfdNs ^ 1) as SeqNo;
    this.txChunks = [];
    this.rxChain.push(b.inf);
    if (b.more) return this.send(rBlock(this.expectedIfdNs));
    const apdu = Buffer.concat(this.rxChain);
    this.rxChain = [];
    const answer = await this.processWithWtx(apdu);
    if (!answer) return; // the reader resynchronized meanwhile and no longer wants it
    this.txChunks = splitInf(answer, this.ifsd);
    return this.sendNextChunk();
  }

  private async sendNextChunk(): Promise<void> {
    const chunk = this.txChunks.shift()!;
    const block = iBlock(this.ns, this.txChunks.length > 0, chunk);
    this.ns = (this.ns ^ 1) as SeqNo;
    return this.send(block);
  }

  /** Run the applet; while it is busy past half the BWT, ask for more time (rule 3). */
  private async processWithWtx(apdu: Buffer): Promise<Buffer | undefined> {
    let done = false;
    const work = this.options.processor.process(apdu).then(
      (r) => r,
      (e: unknown) => {
        this.log.error({ err: (e as Error).message }, 'applet failed');
        return encodeResponseApdu(responseApdu(SW.NO_PRECISE_DIAGNOSIS));
      },
    );
    void work.then(() => (done = true));
    const multiplier = this.options.wtxMultiplier ?? 2;
    let budget = this.opts.bwtMs / 2;
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const tick = new Promise<void>((r) => (timer = setTimeout(r, budget)));
      await Promise.race([work, tick]);
      clearTimeout(timer);
      if (done) return work;
      if (!(await this.requestWaitingTimeExtension(multiplier))) {
        await work;
        return undefined;
      }
      budget = (this.opts.bwtMs * multiplier) / 2;
    }
  }

  /** Returns false when the reader resynchronized instead of granting the time. */
  private async requestWaitingTimeExtension(multiplier: number): Promise<boolean> {
    const request = sBlock('WTX', false, [multiplier]);
    await this.channel.send(request);
    for (;;) {
      const ev = await this.channel.receive(IDLE_WAIT_MS, false);
      if (!this.running) return false;
      if (ev.type === 'timeout') continue;
      if (ev.type === 'block' && ev.block.kind === 'S' && ev.block.response && ev.block.type === 'WTX') return true;
      if (ev.type === 'block' && ev.block.kind === 'S' && !ev.block.response && ev.block.type === 'RESYNCH') {
        // The reader gave up on this command; its answer will be dropped.
        this.resetProtocol();
        await this.send(sBlock('RESYNCH', true));
        return false;
      }
      // Rule 7.3: anything else and the S-request goes again.
      await this.channel.send(request);
    }
  }
}
