/**
 * The reference card in a socket: the emulator's contacts and detect switch,
 * driven over the control channel (socket/contact-control.ts). The card is
 * active only while it is in the socket, powered and out of reset. On every
 * release of RST it answers with its ATR (ISO/IEC 7816-3 §8.1: the card
 * starts from scratch, so the T=1 state and the volatile card session are
 * cleared, and the line returns to the default speed); the first bytes after
 * the ATR may be a PPS request (§9), answered as the control channel set it.
 *
 * The T=1 engine sees the card line through `gate`: bytes that reach an
 * inactive card are lost, as on a card without power; bytes it would send
 * while inactive are refused.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { unlink } from 'node:fs/promises';
import { convertInverse } from '../atr/atr-convention.js';
import { atrOnTheLine } from '../atr/atr-encode.js';
import { parseAtr } from '../atr/atr.js';
import { baudRateFor, DEFAULT_DI, DEFAULT_FI, diFromIndex, fiFromIndex } from '../atr/atr-tables.js';
import type { Logger } from '../base/log.js';
import { CardError, CardErrorCode } from '../errors.js';
import type { ByteLink, LinkStatus } from '../link/link.js';
import { Listeners } from '../link/listeners.js';
import {
  controlListenOptions,
  formatControlCommand,
  LineSplitter,
  parseControlLine,
  type ControlAddress,
  type ControlCommand,
  type PpsBehaviour,
} from '../socket/contact-control.js';
import { answerPps, decodePps, ppsLength, PPSS } from '../socket/pps.js';

export interface CardContactsOptions {
  /** The card line (what the reader's UART is wired to). */
  link: ByteLink;
  control: ControlAddress;
  /** The ATR's characters, decoded (see atr/atr-encode.ts). */
  atr: Buffer;
  /** The card line's speed at Fd/Dd, bits/s; a PPS to the ATR's TA1 scales it (atr-tables.ts baudRateFor). */
  baudRate: number;
  /** Called on every reset (warm or cold): forget the T=1 state and the card session. */
  onReset: () => void;
  /** Whether a card is in the socket at start. Default true. */
  inserted?: boolean;
  logger: Logger;
}

/** How long after its PPS answer the card changes speed, in ms; the reader waits longer (card-socket.ts). */
export const CARD_SPEED_SWITCH_MS = 50;

type GateMode = 'off' | 'after-atr' | 'pps' | 't1';

export class CardContacts {
  /** The card line as the T=1 engine sees it. */
  readonly gate: ByteLink;
  private inserted: boolean;
  private powered = false;
  private rstAsserted = true;
  private mute = false;
  private ppsBehaviour: PpsBehaviour = 'accept';
  private mode: GateMode = 'off';
  private ppsBuffer = Buffer.alloc(0);
  private readonly data = new Listeners<Buffer>();
  private readonly peers = new Set<Socket>();
  private readonly server: Server;
  private readonly ta1: number | undefined;
  /** The ATR's TS is 3F: every character on the line is in the inverse convention. */
  private readonly inverse: boolean;
  private readonly offData: () => void;

  private constructor(private readonly o: CardContactsOptions) {
    this.inserted = o.inserted ?? true;
    const atr = parseAtr(o.atr);
    this.ta1 = atr.groups[0]?.ta;
    this.inverse = atr.convention === 'inverse';
    this.offData = o.link.onData((chunk) => this.receive(chunk));
    this.gate = this.makeGate();
    this.server = createServer((socket) => this.attach(socket));
  }

  static async listen(o: CardContactsOptions): Promise<CardContacts> {
    const contacts = new CardContacts(o);
    if (o.control.kind === 'unix') await unlink(o.control.path).catch(() => undefined);
    await new Promise<void>((resolve, reject) => {
      contacts.server.once('error', reject);
      contacts.server.listen(controlListenOptions(o.control), () => resolve());
    });
    return contacts;
  }

  /** The control channel's address as bound (the port resolved when 0 was asked). */
  get address(): string {
    const a = this.server.address();
    return typeof a === 'string' ? a : a ? `tcp://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : '';
  }

  async close(): Promise<void> {
    this.offData();
    for (const p of this.peers) p.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private attach(socket: Socket): void {
    this.peers.add(socket);
    const lines = new LineSplitter((line) => this.command(socket, line));
    socket.on('data', (chunk) => lines.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => this.peers.delete(socket));
  }

  private command(from: Socket, line: string): void {
    const c = parseControlLine(line);
    if (!c) {
      this.o.logger.warn({ line: line.slice(0, 40) }, 'control channel: unknown command');
      return;
    }
    switch (c.kind) {
      case 'power':
        this.powered = c.on;
        if (!c.on) this.deactivate();
        return;
      case 'rst':
        if (c.asserted) {
          this.rstAsserted = true;
          this.deactivate();
        } else if (this.rstAsserted) {
          this.rstAsserted = false;
          void this.answerToReset();
        }
        return;
      case 'detect?':
        from.write(formatControlCommand({ kind: 'detect', present: this.inserted }));
        return;
      case 'insert':
      case 'remove':
        this.move(c.kind === 'insert', c.bounce);
        return;
      case 'pps':
        this.ppsBehaviour = c.behaviour;
        return;
      case 'mute':
        this.mute = c.on;
        if (c.on) this.mode = 'off';
        return;
      case 'hang':
        this.mode = 'off';
        return;
      case 'detect':
        return;
    }
  }

  /** A person moves the card; the switch bounces `bounce` times within about 5 ms first. */
  private move(inserted: boolean, bounce: number): void {
    const edges: boolean[] = [];
    for (let i = bounce; i > 0; i--) edges.push(i % 2 === 0 ? inserted : !inserted);
    edges.push(inserted);
    const stepMs = bounce ? 5 / bounce : 0;
    edges.forEach((present, i) => {
      const fire = () => {
        this.broadcast({ kind: 'detect', present });
        if (i === edges.length - 1) {
          this.inserted = inserted;
          if (!inserted) this.deactivate();
        }
      };
      if (i === 0) fire();
      else setTimeout(fire, Math.floor(i * stepMs));
    });
  }

  private broadcast(c: ControlCommand): void {
    const line = formatControlCommand(c);
    for (const p of this.peers) p.write(line);
  }

  private deactivate(): void {
    if (this.mode === 'off') return;
    this.mode = 'off';
    this.o.onReset();
  }

  /** §8.1: a card in the socket, powered, released from reset answers with its ATR at the default speed. */
  private async answerToReset(): Promise<void> {
    if (!this.inserted || !this.powered) return;
    this.o.onReset();
    this.mode = 'off';
    if (this.o.link.setBaudRate && this.o.link.baudRate !== this.o.baudRate) await this.o.link.setBaudRate(this.o.baudRate).catch(() => undefined);
    if (this.mute) return;
    // Listening before the ATR is out: the reader may answer (PPS, a first block) before the write's callback.
    this.ppsBuffer = Buffer.alloc(0);
    this.mode = 'after-atr';
    try {
      await this.o.link.write(atrOnTheLine(this.o.atr));
    } catch (e) {
      this.mode = 'off';
      this.o.logger.warn({ err: (e as Error).message }, 'could not send the ATR');
    }
  }

  private receive(raw: Buffer): void {
    // An inverse-convention card reads the UART's bytes converted (§8.1).
    const chunk = this.inverse ? convertInverse(raw) : raw;
    if (this.mode === 'off') {
      this.o.logger.debug({ bytes: chunk.length }, 'bytes to an inactive card dropped');
      return;
    }
    if (this.mode === 'after-atr') {
      this.mode = chunk[0] === PPSS ? 'pps' : 't1';
      this.o.logger.debug({ mode: this.mode }, 'first bytes after the ATR');
    }
    if (this.mode === 't1') {
      this.data.emit(chunk);
      return;
    }
    this.ppsBuffer = Buffer.concat([this.ppsBuffer, chunk]);
    const length = ppsLength(this.ppsBuffer);
    if (length === 'more' || this.ppsBuffer.length < length) return;
    const request = this.ppsBuffer.subarray(0, length);
    const rest = this.ppsBuffer.subarray(length);
    this.mode = 't1';
    void this.answerPpsRequest(request).then(() => {
      if (rest.length) this.data.emit(rest);
    });
  }

  /** §9.3: echo (new speed after the answer), decline (PPS1 left out), or stay silent. */
  private async answerPpsRequest(request: Buffer): Promise<void> {
    const decoded = decodePps(request);
    if (!decoded || this.ppsBehaviour === 'mute') return;
    const answer = answerPps(decoded, (ta1) => this.ppsBehaviour === 'accept' && decoded.protocol === 1 && ta1 === this.ta1);
    await this.o.link.write(this.inverse ? convertInverse(answer) : answer).catch(() => undefined);
    // serialport's update() flushes both queues (tcflush): let the answer leave first (a pty's peer reads it).
    await new Promise((resolve) => setTimeout(resolve, CARD_SPEED_SWITCH_MS));
    if (answer.length === 4 && decoded.ta1 !== undefined && this.o.link.setBaudRate && this.o.link.baudRate !== undefined) {
      const rate = baudRateFor(this.o.baudRate, fiFromIndex(decoded.ta1 >> 4) ?? DEFAULT_FI, diFromIndex(decoded.ta1) ?? DEFAULT_DI);
      await this.o.link.setBaudRate(rate).catch((e: unknown) => this.o.logger.warn({ err: (e as Error).message }, 'could not change the line speed'));
    }
  }

  private makeGate(): ByteLink {
    const contacts = this;
    const link = this.o.link;
    return {
      get status(): LinkStatus {
        return link.status;
      },
      address: link.address,
      write(bytes: Uint8Array): Promise<void> {
        if (contacts.mode !== 't1') {
          return Promise.reject(new CardError(CardErrorCode.LinkDisconnected, 'The card is not active (out of the socket, unpowered or in reset)'));
        }
        return link.write(contacts.inverse ? convertInverse(bytes) : bytes);
      },
      onData: (listener) => this.data.add(listener),
      onStatus: (listener) => link.onStatus(listener),
      close: () => link.close(),
    };
  }
}
