/**
 * The card socket: a SocketSignals backend (gpio, modem-lines, virtual) and
 * the card line, composed once for every backend. It reports debounced
 * presence, activates the card per ISO/IEC 7816-3 (§6.2 cold and warm reset,
 * §8 the ATR, §9 PPS when the card offers a faster Fi/Di and the line can
 * change speed) and deactivates it (§6.4). What runs over the line after
 * activation (T=1) is not its business: it hands back the ATR.
 */
import type { Atr } from '../atr/atr.js';
import { convertInverse } from '../atr/atr-convention.js';
import { baudRateFor, DEFAULT_DI, DEFAULT_FI } from '../atr/atr-tables.js';
import { silentLogger, type Logger } from '../base/log.js';
import { CardError, CardErrorCode } from '../errors.js';
import type { ByteLink } from '../link/link.js';
import { Listeners } from '../link/listeners.js';
import { activationTiming, type ActivationTiming, type ActivationTimingOptions } from './activation-timing.js';
import { listenForAtr } from './atr-reader.js';
import { encodePps, ppsLength, ppsOutcome, type PpsOutcome } from './pps.js';
import { PresenceDebouncer, type PresenceChange } from './presence-debouncer.js';
import type { SocketSignals } from './socket-signals.js';

export interface CardSocketOptions extends ActivationTimingOptions {
  signals: SocketSignals;
  /** The card's I/O line (C7), at `baudRate` until a PPS changes it. */
  link: ByteLink;
  logger?: Logger;
  /** How long the detect switch must be stable before a change counts, in ms (the configuration allows 1..80). Default 20. */
  debounceMs?: number;
  /** Negotiate a faster Fi/Di with PPS when the ATR offers one. Default true. */
  pps?: boolean;
  /** How long to wait for the card line to be open before a reset, in ms. Default 5000. */
  lineOpenTimeoutMs?: number;
  /** close() closes the line too (the socket was given a line of its own). Default false. */
  closeLink?: boolean;
}

export type ResetKind = 'cold' | 'warm';

export interface SocketActivation {
  atr: Atr;
  kind: ResetKind;
  /** The line speed after activation, when the line has one (serial). */
  baudRate?: number;
  /**
   * 'specific-mode': the card announced TA2 (ISO/IEC 7816-3 §6.3.1, §8.3): no PPS, and it
   * runs at TA1's Fi/Di from the ATR on (unless TA2's b5 says implicit values), so the line does too.
   */
  pps: { outcome: PpsOutcome | 'skipped' | 'not-offered' | 'specific-mode'; reason?: string };
  /** ms from the start of the reset to the end of PPS. */
  elapsedMs: number;
}

export class CardSocket {
  private readonly log: Logger;
  private readonly timing: ActivationTiming;
  private readonly presence: PresenceDebouncer;
  private readonly changes = new Listeners<PresenceChange>();
  private readonly offEdges: () => void;
  private current: SocketActivation | undefined;
  private powered = false;

  private constructor(
    private readonly o: CardSocketOptions,
    initial: boolean,
  ) {
    this.log = o.logger ?? silentLogger;
    this.timing = activationTiming(o);
    this.presence = new PresenceDebouncer(initial, o.debounceMs ?? 20, (c) => {
      if (!c.present) this.current = undefined;
      this.log.info({ present: c.present, debounceMs: c.at - c.edgeAt }, c.present ? 'card inserted' : 'card removed');
      this.changes.emit(c);
    });
    this.offEdges = o.signals.onDetectEdge((level) => this.presence.edge(level));
  }

  /** Reads the detect switch once and follows its edges from then on. */
  static async open(o: CardSocketOptions): Promise<CardSocket> {
    return new CardSocket(o, await o.signals.readDetect());
  }

  get present(): boolean {
    return this.presence.present;
  }

  /** The last activation, until the card is deactivated or removed. */
  get activation(): SocketActivation | undefined {
    return this.current;
  }

  get link(): ByteLink {
    return this.o.link;
  }

  get activationTiming(): ActivationTiming {
    return this.timing;
  }

  /** Debounced insertions and removals. */
  onPresence(listener: (change: PresenceChange) => void): () => void {
    return this.changes.add(listener);
  }

  /**
   * Reset the card and read its ATR, then PPS. Cold (§6.2.2): power off and
   * on with RST low (a backend that cannot switch power does a warm reset);
   * warm (§6.2.3): RST low then high with power kept. Rejects with CardMute
   * (no card, no or short ATR) or AtrInvalid.
   */
  async activate(kind: ResetKind = 'cold'): Promise<SocketActivation> {
    return this.reset(kind, this.o.pps ?? true);
  }

  private async reset(kind: ResetKind, withPps: boolean | 'after-failure'): Promise<SocketActivation> {
    const started = Date.now();
    this.current = undefined;
    if (!this.presence.present) throw new CardError(CardErrorCode.CardMute, 'No card in the socket', { reason: 'absent' });
    await this.lineOpen();
    const link = this.o.link;
    if (link.setBaudRate && link.baudRate !== undefined && link.baudRate !== this.o.baudRate) await link.setBaudRate(this.o.baudRate);
    const { signals } = this.o;
    await signals.setReset(true);
    if (kind === 'cold' && signals.switchesPower) {
      if (this.powered) {
        await signals.setPower(false);
        await delay(this.timing.resetLowMs);
      }
    }
    await signals.setPower(true);
    this.powered = true;
    await delay(this.timing.resetLowMs);
    const atrListener = listenForAtr(link, this.timing);
    let atr: Atr;
    try {
      await signals.setReset(false);
      ({ atr } = await atrListener.read());
    } finally {
      atrListener.cancel();
    }
    const pps = await this.negotiate(atr, withPps);
    if (pps.outcome === 'failed') {
      // §9.3: an unsuccessful PPS exchange: deactivate and reset; this time no PPS.
      this.log.warn({}, 'PPS exchange failed; resetting the card at the default speed');
      return this.reset('warm', 'after-failure');
    }
    const activation: SocketActivation = {
      atr,
      kind,
      ...(link.baudRate !== undefined ? { baudRate: link.baudRate } : {}),
      pps,
      elapsedMs: Date.now() - started,
    };
    this.current = activation;
    this.log.info({ kind, atr: atr.bytes.toString('hex'), pps: pps.outcome, baudRate: activation.baudRate }, 'card activated');
    return activation;
  }

  /** §6.4: RST low, then VCC off. */
  async deactivate(): Promise<void> {
    this.current = undefined;
    await this.o.signals.setReset(true);
    await this.o.signals.setPower(false);
    this.powered = false;
  }

  /** What status pages show: backend, presence, the ATR summary, timing. No secrets. */
  describe(): Record<string, unknown> {
    const a = this.current;
    return {
      backend: this.o.signals.kind,
      signals: this.o.signals.describe(),
      present: this.present,
      activated: a !== undefined,
      ...(a
        ? {
            atr: a.atr.bytes.toString('hex').toUpperCase(),
            protocols: a.atr.protocols.map((p) => `T=${p}`),
            fi: a.atr.fi,
            di: a.atr.di,
            t1: a.atr.t1,
            pps: a.pps,
            ...(a.baudRate !== undefined ? { baudRate: a.baudRate } : {}),
          }
        : {}),
    };
  }

  async close(): Promise<void> {
    this.offEdges();
    this.presence.stop();
    await this.o.signals.close();
    if (this.o.closeLink) await this.o.link.close();
  }

  private async negotiate(atr: Atr, enabled: boolean | 'after-failure'): Promise<SocketActivation['pps']> {
    const ta1 = atr.groups[0]?.ta;
    if (ta1 === undefined || (atr.fi === DEFAULT_FI && atr.di === DEFAULT_DI)) return { outcome: 'not-offered' };
    if (enabled === 'after-failure') return { outcome: 'skipped', reason: 'the PPS exchange failed; the card was reset and runs at the default speed' };
    const link = this.o.link;
    if (atr.specificMode) return this.specificMode(atr);
    if (!enabled) return { outcome: 'skipped', reason: 'PPS disabled in the configuration' };
    if (!link.setBaudRate || link.baudRate === undefined) {
      const reason = `the line ${link.address} cannot change speed`;
      this.log.info({ reason }, 'PPS skipped');
      return { outcome: 'skipped', reason };
    }
    const request = { protocol: atr.protocols.includes(1) ? 1 : atr.protocols[0]!, ta1 };
    const answer = await this.exchangePps(encodePps(request), atr.convention === 'inverse');
    const outcome = ppsOutcome(request, answer);
    if (outcome === 'failed') this.log.warn({ answer: answer.toString('hex') }, 'PPS answer not understood (§9.3)');
    if (outcome === 'accepted') {
      await link.setBaudRate(baudRateFor(this.o.baudRate, atr.fi, atr.di));
      // A guard before the first block at the new speed: the card (an emulator behind a pty, whose speed
      // change flushes its queues) may take a moment to switch; a real card has long switched by then.
      await delay(PPS_GUARD_MS);
    }
    return { outcome };
  }

  /**
   * §6.3.1, §8.3: a card in specific mode (TA2 present) takes no PPS; with TA2's b5 at 0 it uses
   * TA1's Fi/Di right after its ATR, so the line must follow at once or no block is understood.
   */
  private async specificMode(atr: Atr): Promise<SocketActivation['pps']> {
    const ta2 = atr.groups[1]?.ta ?? 0;
    if ((ta2 & 0x10) !== 0) return { outcome: 'skipped', reason: 'specific mode with implicit parameters (TA2 b5): the line keeps its speed' };
    const link = this.o.link;
    if (!link.setBaudRate || link.baudRate === undefined) {
      return { outcome: 'skipped', reason: `specific mode at Fi/Di of TA1, and the line ${link.address} cannot change speed` };
    }
    await link.setBaudRate(baudRateFor(this.o.baudRate, atr.fi, atr.di));
    return { outcome: 'specific-mode', reason: 'specific mode (TA2): no PPS; the card and the line run at Fi/Di of TA1' };
  }

  /**
   * Sends a PPS request and collects the answer (as long as its PPS0 says), or
   * what came within the waiting time; an inverse-convention card's characters converted both ways.
   */
  private async exchangePps(request: Buffer, inverse: boolean): Promise<Buffer> {
    let received = Buffer.alloc(0);
    let done: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    const off = this.o.link.onData((chunk) => {
      received = Buffer.concat([received, inverse ? convertInverse(chunk) : chunk]);
      const length = ppsLength(received);
      if (length !== 'more' && received.length >= length) done?.();
    });
    try {
      const answered = new Promise<void>((resolve) => {
        done = resolve;
        // §9.1: within the initial waiting time; floored like the ATR's start (a process, a loaded host, a USB adapter).
        timer = setTimeout(resolve, Math.max(this.timing.atrCharacterMs, this.timing.atrStartMs));
      });
      await this.o.link.write(inverse ? convertInverse(request) : request);
      await answered;
      return received;
    } finally {
      clearTimeout(timer);
      off();
    }
  }

  private async lineOpen(): Promise<void> {
    const link = this.o.link;
    if (link.status === 'connected') return;
    const timeoutMs = this.o.lineOpenTimeoutMs ?? 5000;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new CardError(CardErrorCode.LinkOpenFailed, `No card line at ${link.address} after ${timeoutMs} ms`, { address: link.address }));
      }, timeoutMs);
      const off = link.onStatus((s) => {
        if (s !== 'connected') return;
        clearTimeout(timer);
        off();
        resolve();
      });
    });
  }
}

/** Pause after a PPS before the first block at the new speed, in ms. */
const PPS_GUARD_MS = 100;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
