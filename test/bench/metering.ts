/**
 * Byte counters for the card-link benchmark, as thin wrappers so nothing in
 * card-io changes: `MeteredLink` counts the wire (every byte the interface
 * device writes and receives: T=1 prologue, INF, EDC, R- and S-blocks);
 * `MeteredTransport` counts the payload (command APDU and response APDU bytes).
 */
import type { ByteLink, LinkStatus } from '../../card-io/link/link.js';
import type { ApduTransport } from '../../card-io/t1/apdu-transport.js';

export interface ByteCount {
  /** Towards the card. */
  out: number;
  /** From the card. */
  in: number;
}

export const totalBytes = (c: ByteCount): number => c.out + c.in;

export function bytesSince(now: ByteCount, before: ByteCount): ByteCount {
  return { out: now.out - before.out, in: now.in - before.in };
}

export class MeteredLink implements ByteLink {
  private count: ByteCount = { out: 0, in: 0 };

  constructor(private readonly inner: ByteLink) {}

  get bytes(): ByteCount {
    return { ...this.count };
  }

  get status(): LinkStatus {
    return this.inner.status;
  }

  get address(): string {
    return this.inner.address;
  }

  async write(bytes: Uint8Array): Promise<void> {
    this.count.out += bytes.length;
    await this.inner.write(bytes);
  }

  onData(listener: (chunk: Buffer) => void): () => void {
    return this.inner.onData((chunk) => {
      this.count.in += chunk.length;
      listener(chunk);
    });
  }

  onStatus(listener: (status: LinkStatus) => void): () => void {
    return this.inner.onStatus(listener);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

export class MeteredTransport implements ApduTransport {
  private count: ByteCount = { out: 0, in: 0 };

  constructor(private readonly inner: ApduTransport) {}

  get bytes(): ByteCount {
    return { ...this.count };
  }

  async transmit(apdu: Buffer): Promise<Buffer> {
    this.count.out += apdu.length;
    const response = await this.inner.transmit(apdu);
    this.count.in += response.length;
    return response;
  }
}
