/**
 * The part of johnny-five's IO plugin interface a panel of digital pins needs
 * (johnny-five's "IO Plugins" guide; mock-firmata is the reference): an
 * EventEmitter with `pins`, `MODES`, `HIGH`/`LOW`, `pinMode`, `digitalWrite`,
 * `digitalRead(pin, cb)`, `isReady` and a `ready` event. Each plugin (virtual,
 * linux-gpio) supplies only how an output is driven and how an input is
 * watched; pin bookkeeping and the read callbacks live here once.
 *
 * Like Firmata, a digitalWrite(HIGH) on an INPUT pin asks for its pull-up
 * (johnny-five's Button does this for `isPullup`).
 */
import { EventEmitter } from 'node:events';
import { CodedError } from '../../card-io/base/coded-error.js';

export const MODES = { INPUT: 0, OUTPUT: 1, ANALOG: 2, PWM: 3, SERVO: 4, PULLUP: 11 } as const;

export type PanelErrorCode = 'io-failed' | 'pin-unsupported' | 'not-ready' | 'no-socket' | 'unsupported';

export class PanelError extends CodedError<PanelErrorCode> {
  override readonly name = 'PanelError';
  readonly family = 'panel';
}

export interface PinState {
  supportedModes: number[];
  mode: number | undefined;
  value: number;
  report: number;
  analogChannel: number;
  /** Whether an input's level has been read yet (a read callback waits for it). */
  known: boolean;
}

export type InputBias = 'pull-up' | 'none';

export abstract class DigitalIoPlugin extends EventEmitter {
  readonly MODES = MODES;
  readonly HIGH = 1;
  readonly LOW = 0;
  readonly RESOLUTION = { ADC: 1023, DAC: null, PWM: 1 };
  readonly analogPins: number[] = [];
  readonly pins: PinState[];
  isReady = false;
  abstract readonly name: string;

  constructor(pinCount: number) {
    super();
    this.pins = Array.from({ length: pinCount }, () => ({
      supportedModes: [MODES.INPUT, MODES.OUTPUT],
      mode: undefined,
      value: 0,
      report: 0,
      analogChannel: 127,
      known: false,
    }));
  }

  /** Drive an output line. */
  protected abstract driveOutput(pin: number, value: 0 | 1): void;
  /** Start watching an input line; report each level with `inputChanged`. Called again when the bias changes. */
  protected abstract watchInput(pin: number, bias: InputBias): void;

  protected markReady(): void {
    this.isReady = true;
    this.emit('connect');
    this.emit('ready');
  }

  private state(pin: number): PinState {
    const p = this.pins[pin];
    if (!p) throw new PanelError('pin-unsupported', `Pin ${pin} does not exist on this ${this.name} board (0..${this.pins.length - 1})`, { pin });
    return p;
  }

  pinMode(pin: number, mode: number): this {
    const p = this.state(pin);
    if (mode === MODES.PULLUP) {
      p.mode = MODES.INPUT;
      this.watchInput(pin, 'pull-up');
      return this;
    }
    if (mode !== MODES.INPUT && mode !== MODES.OUTPUT) throw new PanelError('pin-unsupported', `Pin ${pin}: only digital input and output`, { pin, mode });
    p.mode = mode;
    if (mode === MODES.INPUT) this.watchInput(pin, 'none');
    else this.driveOutput(pin, p.value ? 1 : 0);
    return this;
  }

  digitalWrite(pin: number, value: number): this {
    const p = this.state(pin);
    const level: 0 | 1 = value ? 1 : 0;
    if (p.mode === MODES.INPUT) {
      // Firmata's convention for the internal pull-up.
      this.watchInput(pin, level ? 'pull-up' : 'none');
      return this;
    }
    p.value = level;
    this.driveOutput(pin, level);
    return this;
  }

  /** No PWM: any duty cycle above zero is on. */
  analogWrite(pin: number, value: number): this {
    return this.digitalWrite(pin, value > 0 ? 1 : 0);
  }

  /** `cb` gets the present level once it is known, then every change (as Firmata reports a pin after REPORT_DIGITAL). */
  digitalRead(pin: number, cb: (value: number) => void): this {
    const p = this.state(pin);
    p.report = 1;
    this.on(`digital-read-${pin}`, cb);
    if (p.known) {
      const value = p.value;
      queueMicrotask(() => cb(value));
    }
    return this;
  }

  /** For the plugins: an input's level as read; listeners hear the first level and then changes only. */
  protected inputChanged(pin: number, value: 0 | 1): void {
    const p = this.pins[pin];
    if (!p || (p.known && p.value === value)) return;
    p.known = true;
    p.value = value;
    this.emit(`digital-read-${pin}`, value);
  }

  /** Output levels as last driven, for status pages and tests. */
  level(pin: number): 0 | 1 {
    return this.state(pin).value ? 1 : 0;
  }

  analogRead(): never {
    throw new PanelError('unsupported', `The ${this.name} board has no analog inputs`, {});
  }

  abstract close(): Promise<void>;
}
