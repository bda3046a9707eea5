/**
 * One side of a T=1 conversation at the block level: sends blocks on a byte
 * link and hands out received block events one at a time, with a timeout.
 * Both the interface device (the gateway's driver) and the card engine (the
 * emulator) use it, so framing and logging live in one place.
 */
import { CardError, CardErrorCode } from '../errors.js';
import type { ByteLink } from '../link/link.js';
import type { Logger } from '../base/log.js';
import { describeBlock, encodeBlock, type Block } from './block.js';
import { BlockParser, type BlockEvent } from './block-parser.js';
import type { EdcKind } from './edc.js';

export type ReceiveResult = BlockEvent | { readonly type: 'timeout' };

export interface BlockChannelOptions {
  link: ByteLink;
  logger: Logger;
  /** Which side this is, for the direction tag in logs. */
  side: 'ifd' | 'card';
  /** NAD written on sent blocks and accepted on received ones. Default 0x00. */
  nad?: number;
  /** Epilogue kind; both sides must agree. Default 'lrc'. */
  edc?: EdcKind;
  /**
   * Character waiting time in ms: a partial frame older than this is dropped.
   * Default 50 ms (115200 baud moves a whole 259-byte block in about 23 ms).
   */
  cwtMs?: number;
}

export class BlockChannel {
  private readonly parser: BlockParser;
  private readonly queue: BlockEvent[] = [];
  private waiter: ((r: ReceiveResult) => void) | undefined;
  private cwtTimer: NodeJS.Timeout | undefined;
  private readonly unsubscribe: () => void;
  private readonly nad: number;
  private readonly edc: EdcKind;
  private readonly cwtMs: number;

  constructor(private readonly options: BlockChannelOptions) {
    this.nad = options.nad ?? 0;
    this.edc = options.edc ?? 'lrc';
    this.cwtMs = options.cwtMs ?? 50;
    this.parser = new BlockParser({ nad: this.nad, edc: this.edc });
    this.unsubscribe = options.link.onData((chunk) => this.onChunk(chunk));
  }

  private get log(): Logger {
    return this.options.logger;
  }

  async send(block: Block): Promise<void> {
    // Half duplex: whatever arrived before our block belongs to an exchange that is over.
    this.parser.flush();
    this.queue.length = 0;
    const bytes = encodeBlock(block, this.nad, this.edc);
    if (this.log.isLevelEnabled('trace')) {
      this.log.trace({ dir: this.options.side === 'ifd' ? '»card' : '»ifd', block: describeBlock(block) }, 'T=1 send');
    }
    await this.options.link.write(bytes);
  }

  /**
   * Next event, or a timeout after `timeoutMs`. Only one receive may wait at a
   * time. `keepAlive: false` lets the process exit while waiting (an idle card).
   */
  receive(timeoutMs: number, keepAlive = true): Promise<ReceiveResult> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.waiter) throw new CardError(CardErrorCode.ProtocolError, 'Two receives waiting on one T=1 channel');
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        // A partial frame at the deadline is a broken block, not silence.
        const partial = this.parser.flush();
        resolve(
          partial ? { type: 'invalid', reason: 'incomplete block', raw: partial.type === 'discarded' ? partial.bytes : Buffer.alloc(0) } : { type: 'timeout' },
        );
      }, timeoutMs);
      if (!keepAlive) timer.unref();
      this.waiter = (r) => {
        clearTimeout(timer);
        this.waiter = undefined;
        resolve(r);
      };
    });
  }

  /**
   * End a pending receive now, as a timeout, and drop what is queued: the
   * caller has learned that the link dropped or came back, and waits no longer
   * for an answer from a card session that is gone.
   */
  interrupt(): void {
    this.clear();
    this.waiter?.({ type: 'timeout' });
  }

  /** Drop queued events and partial bytes (after resynchronization). */
  clear(): void {
    this.queue.length = 0;
    this.parser.flush();
  }

  close(): void {
    this.unsubscribe();
    if (this.cwtTimer) clearTimeout(this.cwtTimer);
    this.waiter?.({ type: 'timeout' });
  }

  private onChunk(chunk: Buffer): void {
    for (const e of this.parser.push(chunk)) this.deliver(e);
    if (this.cwtTimer) clearTimeout(this.cwtTimer);
    if (this.parser.pendingLength > 0) {
      this.cwtTimer = setTimeout(() => {
        this.cwtTimer = undefined;
        const dropped = this.parser.flush();
        if (dropped) this.deliver({ type: 'invalid', reason: 'incomplete block', raw: dropped.type === 'discarded' ? dropped.bytes : Buffer.alloc(0) });
      }, this.cwtMs);
      this.cwtTimer.unref?.();
    }
  }

  private deliver(e: BlockEvent): void {
    if (this.log.isLevelEnabled('trace')) {
      const what = e.type === 'block' ? describeBlock(e.block) : e.type;
      this.log.trace({ dir: this.options.side === 'ifd' ? '«card' : '«ifd', event: what }, 'T=1 receive');
    }
    // Discarded noise between blocks needs no answer; the protocol recovers on the next block or timeout.
    if (e.type === 'discarded') return;
    if (this.waiter) this.waiter(e);
    else this.queue.push(e);
  }
}
