/**
 * The benchmark's line noise: once armed, one bit of the card's next block is
 * flipped, in its INF or EDC (byte 3 on), never in the prologue: a flipped LEN
 * is another fault (the reader waits out the character waiting time) and is
 * left out so the figure measures EDC detection and one R-block retransmission
 * (ISO/IEC 7816-3 §11.6.3, rule 7.1 and 7.2).
 *
 * On the memory link the flip is a fault hook on the card's write; on a pty it
 * wraps the reader's link and flips bytes as they arrive (`FaultyReceiveLink`).
 */
import type { ByteLink, LinkStatus } from '../../card-io/link/link.js';
import type { SeededRandom } from '../helpers/seeded-random.js';

export class BitFlipper {
  private armed = false;
  /** performance.now() of the last flip. */
  flippedAt: number | undefined;

  constructor(private readonly rnd: SeededRandom) {}

  arm(): void {
    this.armed = true;
    this.flippedAt = undefined;
  }

  /** The chunk, with one bit flipped when armed (a chunk too short to reach INF waits for the next). */
  apply(chunk: Buffer): Buffer {
    if (!this.armed || chunk.length < 4) return chunk;
    const out = Buffer.from(chunk);
    const at = this.rnd.int(3, out.length - 1);
    out[at] = out[at]! ^ (1 << this.rnd.int(0, 7));
    this.armed = false;
    this.flippedAt = performance.now();
    return out;
  }
}

/** A link whose received bytes pass through `rewrite` first, as noise on the reader's UART would. */
export class FaultyReceiveLink implements ByteLink {
  constructor(
    private readonly inner: ByteLink,
    private readonly rewrite: (chunk: Buffer) => Buffer,
  ) {}

  get status(): LinkStatus {
    return this.inner.status;
  }

  get address(): string {
    return this.inner.address;
  }

  write(bytes: Uint8Array): Promise<void> {
    return this.inner.write(bytes);
  }

  onData(listener: (chunk: Buffer) => void): () => void {
    return this.inner.onData((chunk) => listener(this.rewrite(chunk)));
  }

  onStatus(listener: (status: LinkStatus) => void): () => void {
    return this.inner.onStatus(listener);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
