/**
 * The line to a real card emulator process drops in the middle of a chained
 * command, and the card behind it is powered again (SIGKILL, restart on the
 * same image and port). Before the fix, the T=1 layer sent the rest of the
 * chain to the new card, which ran the tail as a command of its own and
 * answered 6700 / 6E00. Now the command fails as interrupted and the first
 * thing the new card session receives is S(RESYNCH) (ISO/IEC 7816-3 §11.6.3.2).
 */
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CardError, CardErrorCode } from '../../card-io/errors.js';
import { createCardImage } from '../../card-io/emulator/card-image.js';
import { connectHomeCard } from '../../card-io/home-card/connect.js';
import { startEmulatorProcess } from '../helpers/household/index.js';
import { freePort, waitForStatus } from '../helpers/link-probes.js';

const PCB_I_MORE = 0x20;
const S_RESYNCH_REQUEST = 0xc0;

/** Blocks (NAD PCB LEN INF LRC) in one direction of one connection, as bytes arrive. */
class BlockLog {
  private buf = Buffer.alloc(0);
  readonly pcbs: number[] = [];
  push(chunk: Buffer): number[] {
    this.buf = Buffer.concat([this.buf, chunk]);
    const added: number[] = [];
    while (this.buf.length >= 3 && this.buf.length >= 4 + this.buf[2]!) {
      added.push(this.buf[1]!);
      this.buf = this.buf.subarray(4 + this.buf[2]!);
    }
    this.pcbs.push(...added);
    return added;
  }
}

/**
 * A TCP relay between the driver and the emulator that logs the blocks the
 * driver sends on each connection; `gate` holds new connections until the
 * test lets them through; `onBlock` sees every block the driver sends.
 */
async function startRelay(target: number) {
  const sockets = new Set<net.Socket>();
  const connections: BlockLog[] = [];
  const r = {
    port: 0,
    connections,
    gate: Promise.resolve() as Promise<void>,
    onBlock: undefined as ((pcb: number) => void) | undefined,
    drop() {
      for (const s of sockets) s.destroy();
    },
    close: () => new Promise<void>((resolve) => (r.drop(), server.close(() => resolve()))),
  };
  const server = net.createServer((client) => {
    sockets.add(client);
    client.pause();
    client.on('error', () => undefined);
    client.once('close', () => sockets.delete(client));
    void r.gate.then(() => {
      const log = new BlockLog();
      connections.push(log);
      const upstream = net.connect(target, '127.0.0.1');
      sockets.add(upstream);
      upstream.on('error', () => client.destroy());
      upstream.once('close', () => (sockets.delete(upstream), client.destroy()));
      client.on('data', (chunk: Buffer) => {
        for (const pcb of log.push(chunk)) r.onBlock?.(pcb);
        if (!upstream.destroyed) upstream.write(chunk);
      });
      client.once('close', () => upstream.destroy());
      upstream.pipe(client);
      client.resume();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  r.port = (server.address() as net.AddressInfo).port;
  return r;
}

test.serial(
  'When the line drops mid-chain and comes back to a freshly powered card, the command fails as interrupted and the new card never receives the ' +
    'rest of the chain',
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'hg-chain-drop-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const image = join(dir, 'card.img');
    await createCardImage(image);
    const port = await freePort();
    const emulator = await startEmulatorProcess(`tcp://127.0.0.1:${port}`, image);
    t.teardown(() => emulator.stop());
    const relay = await startRelay(port);
    t.teardown(() => relay.close());
    const conn = await connectHomeCard({
      device: `tcp://127.0.0.1:${relay.port}`,
      link: { backoff: { initialDelayMs: 10, maxDelayMs: 50 } },
      t1: { bwtMs: 3000 },
    });
    t.teardown(() => conn.close());
    await conn.ifd.start();

    // A SELECT by name with 100 bytes of AID: four chained I-blocks at IFSC 32.
    const select = Buffer.concat([Buffer.from([0x00, 0xa4, 0x04, 0x00, 100]), Buffer.alloc(100, 0xa5)]);
    let release!: () => void;
    // The connections up to the one the chain went out on: the line may have flapped while it opened under load.
    let beforeDrop = 0;
    relay.onBlock = (pcb) => {
      if (!(pcb & 0x80) && pcb & PCB_I_MORE) {
        // The first chained block is on its way to the card: cut the line, and power the card off while it is cut.
        relay.onBlock = undefined;
        beforeDrop = relay.connections.length;
        relay.gate = new Promise<void>((resolve) => (release = resolve));
        setImmediate(() => relay.drop());
      }
    };
    const sent = conn.ifd.transmit(select);
    const err = await t.throwsAsync(sent, { instanceOf: CardError });
    t.is(err?.code, CardErrorCode.ExchangeInterrupted, `interrupted, not answered: ${String(err?.message)}`);
    await emulator.restart();
    release();

    // The next command on the new card session. The reopened line may still flap while the card
    // process comes up: a command refused by a line that is down was never sent, so it is sent again.
    const next = Buffer.from([0x00, 0xca, 0x00, 0x66, 0x00]);
    let status: Buffer | undefined;
    for (let attempt = 0; !status && attempt < 5; attempt++) {
      await waitForStatus(conn.link, 'connected', 10_000);
      status = await conn.ifd.transmit(next).catch((e: unknown) => {
        if (!(e instanceof CardError) || e.code !== CardErrorCode.LinkDisconnected) throw e;
        return undefined;
      });
    }
    t.true(status !== undefined && status.length >= 2);
    const fresh = relay.connections.at(-1)!;
    t.true(relay.connections.length > beforeDrop, 'the driver reconnected');
    t.is(fresh.pcbs[0], S_RESYNCH_REQUEST, `the first block to the new card is S(RESYNCH): ${fresh.pcbs.map((p) => p.toString(16)).join(' ')}`);
    const iBlocks = fresh.pcbs.filter((p) => !(p & 0x80));
    t.deepEqual(iBlocks, [0x00], 'one I-block, the new command, unchained: no tail of the interrupted SELECT');
    // On no connection after the drop did a chained block (the SELECT's body) or an I-block before S(RESYNCH) go out.
    for (const c of relay.connections.slice(beforeDrop)) {
      const firstI = c.pcbs.findIndex((p) => !(p & 0x80));
      t.false(
        c.pcbs.some((p) => !(p & 0x80) && p & PCB_I_MORE),
        'no chained I-block',
      );
      if (firstI >= 0) t.true(c.pcbs.slice(0, firstI).includes(S_RESYNCH_REQUEST), 'S(RESYNCH) before any I-block');
    }
  },
);
