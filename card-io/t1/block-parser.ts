/**
 * Turns a byte stream into T=1 block events. It never throws on line noise
 * (STYLE item 3): every byte ends up in a block, a bad-EDC frame, an invalid
 * frame or a run of discarded bytes. The envelope (NAD, LEN, EDC) is checked
 * here once; the protocol engines only look at decoded blocks.
 *
 * Over a real UART the character waiting time delimits blocks; a stream has
 * no such gaps, so the owner calls `flush()` when the line has been quiet for
 * CWT, which drops a partial frame (ISO/IEC 7816-3:2006 §11.4.3: a block whose
 * characters are not all received within CWT is invalid).
 */
import { decodeBlock, MAX_INF, type Block } from './block.js';
import { edcLength, edcMatches, type EdcKind } from './edc.js';

export type BlockEvent =
  | { readonly type: 'block'; readonly block: Block; readonly raw: Buffer }
  | { readonly type: 'bad-edc'; readonly raw: Buffer }
  | { readonly type: 'invalid'; readonly reason: string; readonly raw: Buffer }
  | { readonly type: 'discarded'; readonly bytes: Buffer };

export interface BlockParserOptions {
  /** The NAD this side accepts; frames starting with another byte are skipped. Default 0x00. */
  nad?: number;
  edc?: EdcKind;
}

export class BlockParser {
  private pending: Buffer = Buffer.alloc(0);
  private readonly nad: number;
  private readonly edc: EdcKind;

  constructor(options: BlockParserOptions = {}) {
    this.nad = options.nad ?? 0;
    this.edc = options.edc ?? 'lrc';
  }

  /** Bytes waiting for the rest of their block. */
  get pendingLength(): number {
    return this.pending.length;
  }

  /** Feed a chunk; returns the events it completes, in order. */
  push(chunk: Uint8Array): BlockEvent[] {
    // One concat per chunk, never per byte; pending never exceeds one frame.
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : Buffer.from(chunk);
    const events: BlockEvent[] = [];
    const edcLen = edcLength(this.edc);
    const p = this.pending;
    let start = 0;
    let skipFrom = -1;
    const endSkip = (at: number) => {
      if (skipFrom >= 0) {
        events.push({ type: 'discarded', bytes: Buffer.from(p.subarray(skipFrom, at)) });
        skipFrom = -1;
      }
    };
    while (p.length - start >= 3) {
      const len = p[start + 2]!;
      if (p[start] !== this.nad || len > MAX_INF) {
        // Not the start of a frame we accept: skip one byte and look again.
        if (skipFrom < 0) skipFrom = start;
        start++;
        continue;
      }
      const total = 3 + len + edcLen;
      if (p.length - start < total) break;
      endSkip(start);
      const raw = Buffer.from(p.subarray(start, start + total));
      if (!edcMatches(this.edc, raw, 0, 3 + len)) {
        events.push({ type: 'bad-edc', raw });
      } else {
        const decoded = decodeBlock(raw[1]!, raw.subarray(3, 3 + len));
        events.push('invalid' in decoded ? { type: 'invalid', reason: decoded.invalid, raw } : { type: 'block', block: decoded, raw });
      }
      start += total;
    }
    // Bytes skipped so far can never begin a frame; the tail from `start` still may.
    endSkip(start);
    this.pending = Buffer.from(p.subarray(start));
    return events;
  }

  /** Drop a partial frame (the line was quiet for CWT). Returns what was dropped, if anything. */
  flush(): BlockEvent | undefined {
    if (this.pending.length === 0) return undefined;
    const bytes = this.pending;
    this.pending = Buffer.alloc(0);
    return { type: 'discarded', bytes };
  }
}
