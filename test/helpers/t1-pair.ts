/**
 * An interface device and a card engine joined by an in-memory link, with a
 * fault hook on the wire and a recording command processor, for T=1 tests.
 */
import { createMemoryLinkPair, type FaultHook, type MemoryLinkPair } from '../../card-io/link/memory-link.js';
import { silentLogger } from '../../card-io/base/log.js';
import { T1CardEngine, type CommandProcessor } from '../../card-io/t1/t1-card-engine.js';
import { T1InterfaceDevice } from '../../card-io/t1/t1-interface-device.js';
import type { T1Options } from '../../card-io/t1/t1-options.js';

export class RecordingProcessor implements CommandProcessor {
  readonly executed: Buffer[] = [];
  delayMs = 0;
  /** Answer: the command bytes reversed, repeated `repeat` times, then 9000. */
  repeat = 1;

  async process(apdu: Buffer): Promise<Buffer> {
    this.executed.push(Buffer.from(apdu));
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    const body = Buffer.concat(Array.from({ length: this.repeat }, () => Buffer.from(apdu).reverse()));
    return Buffer.concat([body, Buffer.from([0x90, 0x00])]);
  }

  expected(apdu: Buffer): Buffer {
    const body = Buffer.concat(Array.from({ length: this.repeat }, () => Buffer.from(apdu).reverse()));
    return Buffer.concat([body, Buffer.from([0x90, 0x00])]);
  }
}

export interface T1Pair {
  ifd: T1InterfaceDevice;
  card: T1CardEngine;
  processor: RecordingProcessor;
  setFault(hook: FaultHook | undefined): void;
  /** The wire itself, to cut and restore it. */
  line: MemoryLinkPair;
  close(): Promise<void>;
}

/**
 * Default BWT is generous (1 s) so tests that count blocks do not see spurious
 * timeouts on a loaded machine; fault tests that need timeouts pass a short one.
 */
export function createT1Pair(options: { ifd?: T1Options; card?: T1Options } = {}): T1Pair {
  const pair = createMemoryLinkPair('t1');
  const processor = new RecordingProcessor();
  const ifd = new T1InterfaceDevice({ link: pair.a, logger: silentLogger, bwtMs: 1000, cwtMs: 20, ...options.ifd });
  const card = new T1CardEngine({ link: pair.b, logger: silentLogger, processor, bwtMs: 1000, cwtMs: 20, ...options.card });
  card.start();
  return {
    ifd,
    card,
    processor,
    setFault: (hook) => pair.setFault(hook),
    line: pair,
    async close() {
      ifd.close();
      await card.stop();
    },
  };
}
