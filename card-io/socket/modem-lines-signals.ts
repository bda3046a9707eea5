/**
 * The modem-lines socket backend: a serial smart-card reader of the Phoenix /
 * Smartmouse kind, where the card's I/O is the port's data line, RTS (or DTR)
 * drives the card's RST, and the socket's detect switch shows on CTS, DSR or
 * DCD. The card is powered by the reader: VCC is not ours to switch, so a
 * cold reset is a warm one (switchesPower false).
 *
 * serialport has no modem-line events, so the detect line is polled with
 * get() every `pollMs` (default 10 ms): a detect edge is seen within pollMs,
 * and, after the socket's debounce (20 ms by default), reported well within
 * the 100 ms the gateway allows itself. A line that is down reads as no card.
 */
import { silentLogger, type Logger } from '../base/log.js';
import { CardError, CardErrorCode } from '../errors.js';
import type { ModemLines } from '../link/link.js';
import { Listeners } from '../link/listeners.js';
import type { SocketSignals } from './socket-signals.js';

export interface ModemLinesSignalsOptions {
  /** The serial line's modem lines now (undefined while the port is closed): the card line's own port. */
  lines: () => ModemLines | undefined;
  /** Which input shows the card, and whether a card pulls it low (activeLow) or high. Default cts, active high. */
  detect?: { line: 'cts' | 'dsr' | 'dcd'; activeLow?: boolean };
  /** Which output drives RST, and whether asserting reset sets it off (activeLow) or on. Default rts, active high. */
  reset?: { line: 'rts' | 'dtr'; activeLow?: boolean };
  /** How often the detect line is read, in ms, 1..1000. Default 10. */
  pollMs?: number;
  logger?: Logger;
}

export class ModemLinesSignals implements SocketSignals {
  readonly kind = 'modem-lines' as const;
  readonly switchesPower = false;
  private readonly edges = new Listeners<boolean>();
  private readonly timer: NodeJS.Timeout;
  private readonly detect: { line: 'cts' | 'dsr' | 'dcd'; activeLow: boolean };
  private readonly reset: { line: 'rts' | 'dtr'; activeLow: boolean };
  private last: boolean | undefined;
  private polling = false;

  constructor(private readonly o: ModemLinesSignalsOptions) {
    this.detect = { line: o.detect?.line ?? 'cts', activeLow: o.detect?.activeLow ?? false };
    this.reset = { line: o.reset?.line ?? 'rts', activeLow: o.reset?.activeLow ?? false };
    const pollMs = Math.min(1000, Math.max(1, o.pollMs ?? 10));
    this.timer = setInterval(() => void this.poll(), pollMs);
    this.timer.unref();
  }

  async readDetect(): Promise<boolean> {
    const lines = this.o.lines();
    if (!lines) return false;
    try {
      const status = await lines.get();
      return status[this.detect.line] !== this.detect.activeLow;
    } catch (e) {
      (this.o.logger ?? silentLogger).debug({ err: (e as Error).message }, 'modem lines unreadable');
      return false;
    }
  }

  onDetectEdge(listener: (present: boolean) => void): () => void {
    return this.edges.add(listener);
  }

  /** The reader powers the card: nothing to switch. */
  async setPower(): Promise<void> {}

  async setReset(asserted: boolean): Promise<void> {
    const lines = this.o.lines();
    if (!lines) throw new CardError(CardErrorCode.LinkDisconnected, 'The card reader line is not open; cannot drive RST');
    // serialport's set() puts every line it is not given back to its default (on): give both, the other one on.
    const level = asserted !== this.reset.activeLow;
    await lines.set(this.reset.line === 'rts' ? { rts: level, dtr: true } : { dtr: level, rts: true });
  }

  describe(): Record<string, unknown> {
    return { detect: this.detect, reset: this.reset, pollMs: this.o.pollMs ?? 10 };
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const present = await this.readDetect();
      if (present !== this.last) {
        this.last = present;
        this.edges.emit(present);
      }
    } finally {
      this.polling = false;
    }
  }
}
