/**
 * The virtual board: an in-process IO plugin for the sandbox and the tests.
 * Outputs are remembered (and announced with an `output` event); inputs are
 * set from outside (`setInput`), as a finger on a button or a card in a
 * socket would set them. `homegate panel press` drives it through the admin
 * socket; tests drive it directly.
 */
import { DigitalIoPlugin, type InputBias } from './digital-io-plugin.js';

export class VirtualIo extends DigitalIoPlugin {
  readonly name = 'virtual';
  /** Inputs with their pull-up on read high until something pulls them low. */
  private readonly driven = new Set<number>();

  constructor(pinCount = 128) {
    super(pinCount);
    setImmediate(() => this.markReady());
  }

  /** Levels as last announced: `output` is emitted on changes only, as a logic analyser would see them. */
  private readonly announced = new Map<number, 0 | 1>();

  protected driveOutput(pin: number, value: 0 | 1): void {
    if ((this.announced.get(pin) ?? 0) === value) return;
    this.announced.set(pin, value);
    this.emit('output', { pin, value });
  }

  /** An input nothing drives reads its bias: high with the pull-up, low without. */
  protected watchInput(pin: number, bias: InputBias): void {
    if (!this.driven.has(pin)) this.inputChanged(pin, bias === 'pull-up' ? 1 : 0);
  }

  /** Set an input's level as the outside world would (a button pressed to ground reads 0). */
  setInput(pin: number, value: 0 | 1): void {
    this.driven.add(pin);
    this.inputChanged(pin, value);
  }

  async close(): Promise<void> {
    this.removeAllListeners();
  }
}
