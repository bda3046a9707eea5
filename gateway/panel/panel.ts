/**
 * The gateway's panel: johnny-five components on the configured board.
 *   LEDs ready, busy, attention      following the event bus (panel-leds.ts)
 *   the confirm button               large payments and top-ups wait for it (confirm-button.ts)
 *   a buzzer                         a beep on each payment decision (decision-beep.ts)
 * The card socket's gpio backend shares the board (gpio-socket-signals.ts).
 */
import five from 'johnny-five';
import type { Logger } from '../../card-io/base/log.js';
import type { GatewayEvents, LedState } from '../events/gateway-events.js';
import { ConfirmButton, type PendingConfirmation } from './confirm-button.js';
import { beepOnDecision } from './decision-beep.js';
import { PanelError } from './digital-io-plugin.js';
import { openPanelBoard, type PanelBoard } from './panel-board.js';
import { type LedStates, PanelLeds } from './panel-leds.js';
import type { PanelOptions } from './panel-options.js';
import { createGpioSocketSignals, type GpioSocketPins, type IoBoard } from './gpio-socket-signals.js';
import type { SocketSignals } from '../../card-io/socket/socket-signals.js';

/** Insertion and removal of the card in the virtual socket (the socket's virtual backend provides it). */
export interface VirtualCardSlot {
  insert(): Promise<void>;
  remove(): Promise<void>;
}

export interface StartPanelOptions {
  options: PanelOptions;
  events: GatewayEvents;
  logger: Logger;
  /** Whether a usable card is in at start. */
  cardReady?: boolean;
  /** For `homegate panel insert|remove`; absent: those answer an error. */
  cardSlot?: VirtualCardSlot;
}

export interface PanelStatus {
  plugin: PanelOptions['plugin'];
  pins: PanelOptions['pins'];
  leds: LedStates;
  confirm: { payAbove: number | null; topupAbove: number | null; timeoutMs: number; longPressMs: number };
  pendingConfirmation: PendingConfirmation | Omit<PendingConfirmation, 'terminal'> | null;
}

/** How long a short press is held on the virtual button, in ms: above johnny-five's 7 ms debounce. */
const SHORT_PRESS_MS = 60;

export class Panel {
  private constructor(
    private readonly o: StartPanelOptions,
    readonly board: PanelBoard,
    readonly confirmation: ConfirmButton,
    private readonly leds: PanelLeds,
    private readonly stopBeep: () => void,
  ) {}

  static async start(o: StartPanelOptions): Promise<Panel> {
    const { options, events } = o;
    const board = await openPanelBoard(options, o.logger);
    const b = board.board;
    // A board that fails later (a libgpiod tool dies, the Arduino is unplugged) is a problem to show, not a crash.
    b.on('error', (e: Error) => {
      o.logger.error({ plugin: options.plugin, err: e.message }, 'panel board error');
      events.emit('problem', { code: 'panel-io', message: `The ${options.plugin} panel failed: ${e.message}` });
    });
    const led = (pin: number) => {
      const l = new five.Led({ pin, board: b });
      return {
        show(state: LedState) {
          l.stop();
          if (state === 'on') l.on();
          else if (state === 'off') l.off();
          else l.blink(state === 'blink-fast' ? 100 : 400);
        },
      };
    };
    const outputs = { ready: led(options.pins.ready), busy: led(options.pins.busy), attention: led(options.pins.attention) };
    const leds = new PanelLeds({
      events,
      leds: outputs,
      outboxBacklog: options.outboxBacklog,
      problemHoldMs: options.problemHoldMs,
      cardReady: o.cardReady ?? false,
    });
    const button = new five.Button({
      pin: options.pins.button,
      board: b,
      isPullup: options.buttonActiveLow,
      invert: options.buttonActiveLow,
      // The first `hold` comes after this long: the long press that refuses.
      holdtime: options.confirm.longPressMs,
    });
    const confirmation = new ConfirmButton({
      button,
      events,
      timeoutMs: options.confirm.timeoutMs,
      ...(options.confirm.payAbove === undefined ? {} : { payAbove: options.confirm.payAbove }),
      ...(options.confirm.topupAbove === undefined ? {} : { topupAbove: options.confirm.topupAbove }),
    });
    const beep =
      options.pins.buzzer === undefined
        ? () => undefined
        : beepOnDecision(events, new five.Pin({ pin: options.pins.buzzer, board: b, type: 'digital' }), options.beepMs);
    // A blinking LED runs an interval: all go dark at stop, so nothing keeps the process alive.
    const stopBeep = () => {
      beep();
      for (const l of Object.values(outputs)) l.show('off');
    };
    o.logger.info({ plugin: options.plugin, pins: options.pins }, 'panel ready');
    return new Panel(o, board, confirmation, leds, stopBeep);
  }

  status(): PanelStatus {
    const c = this.o.options.confirm;
    return {
      plugin: this.o.options.plugin,
      pins: this.o.options.pins,
      leds: this.leds.states,
      confirm: { payAbove: c.payAbove ?? null, topupAbove: c.topupAbove ?? null, timeoutMs: c.timeoutMs, longPressMs: c.longPressMs },
      pendingConfirmation: this.confirmation.pending ?? null,
    };
  }

  /**
   * What GET /v1/health shows anyone on the LAN (no client certificate): the
   * pending confirmation without the asking terminal's id.
   */
  publicStatus(): PanelStatus {
    const full = this.status();
    const p = this.confirmation.pending;
    if (!p) return full;
    const { terminal: _terminal, ...rest } = p;
    return { ...full, pendingConfirmation: rest };
  }

  private virtualButton(): (down: boolean) => void {
    const v = this.board.virtual;
    if (!v) throw new PanelError('unsupported', `The ${this.o.options.plugin} panel has a real button: press it`, {});
    const pin = this.o.options.pins.button;
    const low = this.o.options.buttonActiveLow;
    return (down) => v.setInput(pin, down === low ? 0 : 1);
  }

  /** The virtual button pressed and released (a confirmation). */
  async press(): Promise<void> {
    await this.hold(SHORT_PRESS_MS);
  }

  /** The virtual button held past the long-press time (a refusal). */
  async longPress(): Promise<void> {
    await this.hold(this.o.options.confirm.longPressMs + 150);
  }

  private async hold(ms: number): Promise<void> {
    const set = this.virtualButton();
    set(true);
    await new Promise((r) => setTimeout(r, ms));
    set(false);
  }

  private slot(): VirtualCardSlot {
    if (!this.o.cardSlot) throw new PanelError('no-socket', 'This gateway has no virtual card socket to insert a card into or remove it from', {});
    return this.o.cardSlot;
  }

  async insert(): Promise<void> {
    await this.slot().insert();
  }

  async remove(): Promise<void> {
    await this.slot().remove();
  }

  private closed = false;

  /** The card socket's gpio backend on this panel's board (card.socket.backend "gpio"). */
  socketSignals(pins: GpioSocketPins): SocketSignals {
    // Every IO plugin we open (virtual, linux-gpio, firmata) has the digital pin calls IoBoard names.
    return createGpioSocketSignals(this.board.board as typeof this.board.board & IoBoard, pins);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.confirmation.close();
    // johnny-five's Button repeats `hold` on an interval while it is down and has no stop: a button held (or
    // whose release was not read) at close would keep the process alive. Report it released, as Firmata would.
    const released = this.o.options.buttonActiveLow ? 1 : 0;
    this.board.board.io.emit(`digital-read-${this.o.options.pins.button}`, released);
    this.leds.close();
    this.stopBeep();
    await this.board.close();
  }
}
