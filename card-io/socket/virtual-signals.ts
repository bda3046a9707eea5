/**
 * The virtual socket backend: the socket's signals over the emulator's
 * control channel (contact-control.ts), so the sandbox and the tests insert,
 * remove and reset the card through the same CardSocket code as hardware.
 * `person` is the hand that moves the card (`homegate panel insert|remove`
 * drives it through the admin socket; tests call it directly).
 */
import { connect, type Socket } from 'node:net';
import { silentLogger, type Logger } from '../base/log.js';
import { CardError, CardErrorCode } from '../errors.js';
import { Listeners } from '../link/listeners.js';
import { controlListenOptions, formatControlCommand, LineSplitter, parseControlAddress, parseControlLine, type ControlCommand } from './contact-control.js';
import type { SocketSignals } from './socket-signals.js';

/** The hand that inserts and pulls the card in a virtual socket. */
export interface SocketPerson {
  insert(): Promise<void>;
  remove(): Promise<void>;
}

export interface VirtualSignalsOptions {
  /** The emulator's control channel: tcp://host:port or a unix socket path. */
  control: string;
  logger?: Logger;
  /** How long to keep trying to reach the control channel at start, in ms. Default 5000. */
  connectTimeoutMs?: number;
}

/** Pause between two attempts to reach a control channel that went away, in ms. */
const RECONNECT_MS = 200;

function openControl(control: string): Promise<Socket> {
  const target = controlListenOptions(parseControlAddress(control));
  return new Promise<Socket>((resolve, reject) => {
    const s = connect(target, () => {
      s.off('error', reject);
      s.setNoDelay(true);
      resolve(s);
    });
    s.once('error', reject);
  });
}

export class VirtualSignals implements SocketSignals {
  readonly kind = 'virtual' as const;
  readonly switchesPower = true;
  private readonly edges = new Listeners<boolean>();
  private readonly replies: Array<(present: boolean) => void> = [];
  private lastDetect = false;
  private closed = false;

  private constructor(
    private readonly o: VirtualSignalsOptions,
    private socket: Socket,
  ) {
    this.wire(socket);
  }

  /** Connects to the control channel (retrying until connectTimeoutMs: the emulator may still be starting). */
  static async connect(o: VirtualSignalsOptions): Promise<VirtualSignals> {
    const deadline = Date.now() + (o.connectTimeoutMs ?? 5000);
    for (;;) {
      try {
        return new VirtualSignals(o, await openControl(o.control));
      } catch (e) {
        if (Date.now() >= deadline) {
          throw new CardError(CardErrorCode.LinkOpenFailed, `No card socket control channel at ${o.control}`, { address: o.control }, { cause: e });
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }

  /** The hand: insert and pull the card (for the admin socket's `panel insert|remove` and tests). */
  get person(): SocketPerson {
    return {
      insert: () => this.send({ kind: 'insert', bounce: 0 }),
      remove: () => this.send({ kind: 'remove', bounce: 0 }),
    };
  }

  /** Sends any control command (tests: bounce, PPS behaviour, a mute card). */
  send(c: ControlCommand): Promise<void> {
    if (this.closed || this.socket.destroyed) {
      return Promise.reject(new CardError(CardErrorCode.LinkDisconnected, `The card socket control channel ${this.o.control} is closed`));
    }
    return new Promise((resolve, reject) => this.socket.write(formatControlCommand(c), (err) => (err ? reject(err) : resolve())));
  }

  async readDetect(): Promise<boolean> {
    const answer = new Promise<boolean>((resolve) => this.replies.push(resolve));
    await this.send({ kind: 'detect?' });
    return answer;
  }

  onDetectEdge(listener: (present: boolean) => void): () => void {
    return this.edges.add(listener);
  }

  setPower(on: boolean): Promise<void> {
    return this.send({ kind: 'power', on });
  }

  setReset(asserted: boolean): Promise<void> {
    return this.send({ kind: 'rst', asserted });
  }

  describe(): Record<string, unknown> {
    return { control: this.o.control, lastDetect: this.lastDetect };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.socket.destroy();
  }

  private wire(socket: Socket): void {
    const log = this.o.logger ?? silentLogger;
    const lines = new LineSplitter((line) => {
      const c = parseControlLine(line);
      if (c?.kind !== 'detect') return;
      this.lastDetect = c.present;
      this.replies.shift()?.(c.present);
      this.edges.emit(c.present);
    });
    socket.on('data', (chunk) => lines.push(chunk));
    socket.on('error', (err) => log.warn({ err: err.message }, 'card socket control channel error'));
    socket.on('close', () => {
      if (this.closed) return;
      // The emulator is gone: as far as anyone can tell, so is the card. It may come back (a restart).
      log.warn({ control: this.o.control }, 'card socket control channel closed; reconnecting');
      for (const reply of this.replies.splice(0)) reply(false);
      if (this.lastDetect) this.edges.emit(false);
      this.lastDetect = false;
      this.reconnect();
    });
  }

  /** Every RECONNECT_MS until close(): a new channel, then the detect switch read (its answer is an edge). */
  private reconnect(): void {
    const timer = setTimeout(() => {
      if (this.closed) return;
      openControl(this.o.control).then(
        (socket) => {
          if (this.closed) {
            socket.destroy();
            return;
          }
          this.socket = socket;
          this.wire(socket);
          void this.send({ kind: 'detect?' }).catch(() => undefined);
        },
        () => this.reconnect(),
      );
    }, RECONNECT_MS);
    timer.unref();
  }
}
