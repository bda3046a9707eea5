/**
 * The chaos campaign's card-line proxy, over real TCP sockets: it forwards
 * the T=1 byte stream unchanged, and an armed cut falls exactly after the
 * block it names (ISO 7816-3 §11.3.1 block framing), never inside one.
 */
import net from 'node:net';
import test from 'ava';
import { startLineProxy } from './line-proxy.js';

/** A T=1 block with an LRC epilogue (ISO 7816-3 §11.3.4: XOR of all bytes before it). */
function block(pcb: number, inf: number[]): Buffer {
  const b = [0x00, pcb, inf.length, ...inf];
  return Buffer.from([...b, b.reduce((a, x) => a ^ x, 0)]);
}

/** A stand-in for the card's TCP listener: what each connection received, and a way to answer. */
async function fakeCard() {
  const received: Buffer[] = [];
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => {
    const i = received.push(Buffer.alloc(0)) - 1;
    sockets.push(s);
    s.on('data', (d: Buffer) => (received[i] = Buffer.concat([received[i]!, d])));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as net.AddressInfo).port, received, sockets, close: () => new Promise<void>((r) => server.close(() => r())) };
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', () => undefined);
  });
}

const closed = (s: net.Socket) => new Promise<void>((r) => (s.destroyed ? r() : s.once('close', () => r())));
const until = async (check: () => boolean) => {
  while (!check()) await new Promise((r) => setTimeout(r, 5));
};

test('When a cut is armed for the middle of a chain, the card gets the chained block and nothing after it, and the line closes', async (t) => {
  const card = await fakeCard();
  const proxy = await startLineProxy();
  proxy.target = card.port;
  t.teardown(async () => {
    await proxy.close();
    await card.close();
  });
  const gateway = await connect(proxy.port);
  const cut = proxy.arm({ kind: 'mid-chain' });
  const plain = block(0x00, [1, 2, 3]);
  const chained = block(
    0x40 | 0x20,
    Array.from({ length: 32 }, (_, i) => i),
  );
  const last = block(0x00, [9, 9]);
  // One write holding a whole unchained block, a chained one and the last of the chain.
  gateway.write(Buffer.concat([plain, chained, last]));
  t.true(await cut);
  await closed(gateway);
  await until(() => card.sockets[0]?.destroyed === true || card.sockets[0]?.readableEnded === true);
  t.deepEqual(card.received[0], Buffer.concat([plain, chained]));
  t.is(proxy.cuts(), 1);
});

test('When a cut is armed after N blocks, it counts blocks in both directions and falls between them, even when a block arrives in pieces', async (t) => {
  const card = await fakeCard();
  const proxy = await startLineProxy();
  proxy.target = card.port;
  t.teardown(async () => {
    await proxy.close();
    await card.close();
  });
  const gateway = await connect(proxy.port);
  const fromCard: Buffer[] = [];
  gateway.on('data', (d: Buffer) => fromCard.push(d));
  const cut = proxy.arm({ kind: 'after-blocks', blocks: 3 });
  const command = block(0x00, [0xa0, 0xa1]);
  gateway.write(command.subarray(0, 2));
  await until(() => card.received.length === 1);
  gateway.write(command.subarray(2));
  await until(() => card.received[0]!.length === command.length);
  const answer = block(0x00, [0x90, 0x00]);
  const r = block(0x91, []);
  card.sockets[0]!.write(Buffer.concat([answer, r, block(0x00, [7])]));
  t.true(await cut);
  await closed(gateway);
  t.deepEqual(Buffer.concat(fromCard), Buffer.concat([answer, r]));
});

test('When nothing is armed, bytes pass unchanged both ways; after a cut, the next connection is relayed again', async (t) => {
  const card = await fakeCard();
  const proxy = await startLineProxy();
  proxy.target = card.port;
  t.teardown(async () => {
    await proxy.close();
    await card.close();
  });
  const first = await connect(proxy.port);
  await until(() => card.sockets.length === 1);
  await proxy.arm({ kind: 'now' });
  await closed(first);
  const second = await connect(proxy.port);
  const odd = Buffer.from([0x00, 0x20, 0x05, 1, 2]); // a block still incomplete: forwarded as it comes
  second.write(odd);
  await until(() => (card.received[1]?.length ?? 0) === odd.length);
  t.deepEqual(card.received[1], odd);
  const back: Buffer[] = [];
  second.on('data', (d: Buffer) => back.push(d));
  card.sockets[1]!.write(Buffer.from([0xde, 0xad]));
  await until(() => Buffer.concat(back).length === 2);
  t.deepEqual(Buffer.concat(back), Buffer.from([0xde, 0xad]));
  t.is(proxy.cuts(), 1);
  second.destroy();
});
