/**
 * A card in a virtual socket for tests: a real card image, the emulator as its
 * own process (`homegate card emulate --control`) on a TCP card line (or a
 * given serial line), and the host side as the gateway builds it: the line,
 * the virtual backend on the control channel, the CardSocket. A second
 * control connection plays the person who inserts and pulls the card, and sets
 * the card's test behaviours (PPS answers, a mute card). Everything is stopped
 * when the test ends.
 */
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import { createCardImage } from '../../card-io/emulator/card-image.js';
import type { ByteLink } from '../../card-io/link/link.js';
import { openLink } from '../../card-io/link/open-link.js';
import type { Logger } from '../../card-io/base/log.js';
import { CardSocket, type CardSocketOptions } from '../../card-io/socket/card-socket.js';
import { VirtualSignals, type SocketPerson } from '../../card-io/socket/virtual-signals.js';
import { tempDir } from './household/card-fixture.js';
import { startEmulatorProcess, type EmulatorProcess } from './household/emulator-process.js';
import { freePort } from './link-probes.js';

export interface VirtualSocketCard {
  readonly socket: CardSocket;
  readonly link: ByteLink;
  readonly signals: VirtualSignals;
  /** The test's knobs (bounce, PPS answers, a mute card): a second connection to the control channel. */
  readonly knobs: VirtualSignals;
  /** The hand that inserts and pulls the card, as the admin socket's hook gets it. */
  readonly person: SocketPerson;
  readonly emulator: EmulatorProcess;
  readonly imagePath: string;
  readonly adminKey: Buffer;
  readonly control: string;
  readonly device: string;
}

export interface VirtualSocketOptions {
  /** The card side of the line the emulator serves; default a free tcp://127.0.0.1 port. */
  cardDevice?: string;
  /** The host side (the pty's other end); default cardDevice. */
  hostDevice?: string;
  /** An existing image instead of a fresh one. */
  imagePath?: string;
  /** Extra `card emulate` arguments (e.g. --slow-ms, --removed, --edc). */
  args?: readonly string[];
  socket?: Partial<Omit<CardSocketOptions, 'signals' | 'link'>>;
  logger?: Logger;
}

export async function bootVirtualSocket(t: ExecutionContext, o: VirtualSocketOptions = {}): Promise<VirtualSocketCard> {
  const dir = await tempDir(t, 'homegate-socket-');
  let imagePath = o.imagePath;
  let adminKey: Buffer = Buffer.alloc(0);
  if (!imagePath) {
    imagePath = path.join(dir, 'card.img');
    ({ adminKey } = await createCardImage(imagePath));
  }
  const control = path.join(dir, 'control.sock');
  const cardDevice = o.cardDevice ?? `tcp://127.0.0.1:${await freePort()}`;
  const emulator = await startEmulatorProcess(cardDevice, imagePath, 'error', { args: ['--control', control, ...(o.args ?? [])] });
  t.teardown(() => emulator.stop());
  const link = openLink(o.hostDevice ?? cardDevice, { backoff: { initialDelayMs: 10, maxDelayMs: 100 } });
  t.teardown(() => link.close());
  const signals = await VirtualSignals.connect({ control });
  const knobs = await VirtualSignals.connect({ control });
  t.teardown(() => knobs.close());
  const socket = await CardSocket.open({ baudRate: 115200, ...o.socket, signals, link, logger: o.logger });
  t.teardown(() => socket.close());
  return { socket, link, signals, knobs, person: knobs.person, emulator, imagePath, adminKey, control, device: o.hostDevice ?? cardDevice };
}

/** Resolves with the next debounced presence change (rejects after timeoutMs). */
export function nextPresence(socket: CardSocket, timeoutMs = 2000): Promise<{ present: boolean; edgeAt: number; at: number }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no presence change within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = socket.onPresence((c) => {
      clearTimeout(timer);
      off();
      resolve(c);
    });
  });
}
