/**
 * A TCP relay on the card line (gateway ↔ emulator, the sandbox's ser2net
 * style `tcp://127.0.0.1:port`) that can cut the line at a chosen point of
 * the T=1 exchange, the way a loose serial cable drops between blocks:
 *
 * - `mid-chain`: right after forwarding a gateway→card I-block with the
 *   more-data bit set (ISO 7816-3 §11.6.2.3 chaining), so the card holds the
 *   first part of a chained command and never gets the rest;
 * - `after-blocks N`: after N more complete blocks in either direction;
 * - `now`: at once.
 *
 * A mid-chain point can also run something else instead of the cut (a
 * SIGKILL of the card or the gateway while the card holds half a chain).
 *
 * Blocks are split by their prologue (NAD, PCB, LEN; ISO 7816-3 §11.3.1) and
 * an epilogue of `edcLength` bytes (1 for LRC, 2 for CRC). Everything is
 * forwarded unchanged until the cut; a cut destroys both sockets, and the
 * next connection from the gateway is relayed again.
 */
import net from 'node:net';

/** `instead`: do this (e.g. kill a process) at that point rather than cut the line. */
export type LineCut = { kind: 'mid-chain'; instead?: () => void } | { kind: 'after-blocks'; blocks: number } | { kind: 'now' };

export interface LineProxy {
  readonly port: number;
  /** Where the card listens; set before the gateway connects. */
  target: number | undefined;
  /** Arm one cut; resolves true when it happened, false when disarmed first. */
  arm(cut: LineCut): Promise<boolean>;
  disarm(): void;
  /** Cuts made so far. */
  cuts(): number;
  close(): Promise<void>;
}

/** Splits a byte stream into T=1 blocks. */
class BlockSplitter {
  private buf = Buffer.alloc(0);
  constructor(private readonly edcLength: number) {}

  /** Feeds a chunk; returns each block it completed: its PCB and the offset in `chunk` just after it. */
  push(chunk: Buffer): Array<{ pcb: number; end: number }> {
    const blocks: Array<{ pcb: number; end: number }> = [];
    const before = this.buf.length;
    this.buf = Buffer.concat([this.buf, chunk]);
    let used = 0;
    while (this.buf.length - used >= 3) {
      const size = 3 + this.buf[used + 2]! + this.edcLength;
      if (this.buf.length - used < size) break;
      blocks.push({ pcb: this.buf[used + 1]!, end: used + size - before });
      used += size;
    }
    this.buf = this.buf.subarray(used);
    return blocks;
  }
}

/** An I-block (b8 = 0) with the more-data bit (b6) set: a chain goes on after it. */
const isChainedIBlock = (pcb: number) => (pcb & 0x80) === 0 && (pcb & 0x20) !== 0;

export async function startLineProxy(o: { edcLength?: number } = {}): Promise<LineProxy> {
  const edcLength = o.edcLength ?? 1;
  const sockets = new Set<net.Socket>();
  let armed: { cut: LineCut; left: number; done: (cut: boolean) => void } | undefined;
  let cuts = 0;
  let severing = false;

  const cutAll = () => {
    cuts++;
    for (const s of sockets) s.destroy();
    severing = false;
    const a = armed;
    armed = undefined;
    a?.done(true);
  };

  /** Forwards `chunk`, cutting right after the block where the armed cut falls. */
  const relay = (splitter: BlockSplitter, fromGateway: boolean, to: net.Socket, chunk: Buffer) => {
    if (severing) return; // nothing passes once the cut is decided
    for (const block of splitter.push(chunk)) {
      const a = armed;
      if (!a) break;
      const cutHere = a.cut.kind === 'mid-chain' ? fromGateway && isChainedIBlock(block.pcb) : --a.left <= 0;
      if (cutHere && a.cut.kind === 'mid-chain' && a.cut.instead) {
        const instead = a.cut.instead;
        armed = undefined;
        severing = true; // hold everything after this point until the connection is gone
        to.write(chunk.subarray(0, block.end), () => instead());
        a.done(true);
        return;
      }
      if (cutHere) {
        severing = true;
        to.write(chunk.subarray(0, block.end), () => cutAll());
        return;
      }
    }
    to.write(chunk);
  };

  const server = net.createServer((gateway) => {
    severing = false;
    sockets.add(gateway);
    gateway.on('error', () => undefined);
    gateway.once('close', () => sockets.delete(gateway));
    if (proxy.target === undefined) return void gateway.destroy();
    const card = net.connect(proxy.target, '127.0.0.1');
    sockets.add(card);
    card.on('error', () => gateway.destroy());
    card.once('close', () => {
      sockets.delete(card);
      gateway.destroy();
    });
    gateway.once('close', () => card.destroy());
    const up = new BlockSplitter(edcLength);
    const down = new BlockSplitter(edcLength);
    gateway.on('data', (chunk: Buffer) => relay(up, true, card, chunk));
    card.on('data', (chunk: Buffer) => relay(down, false, gateway, chunk));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));

  const proxy: LineProxy = {
    port: (server.address() as net.AddressInfo).port,
    target: undefined,
    arm(cut) {
      armed?.done(false);
      return new Promise((resolve) => {
        armed = { cut, left: cut.kind === 'after-blocks' ? cut.blocks : 0, done: resolve };
        if (cut.kind === 'now') cutAll();
      });
    },
    disarm() {
      const a = armed;
      armed = undefined;
      a?.done(false);
    },
    cuts: () => cuts,
    close: () =>
      new Promise<void>((resolve) => {
        proxy.disarm();
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  return proxy;
}
