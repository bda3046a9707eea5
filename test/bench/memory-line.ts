/**
 * The baseline line: the emulator in this process behind an in-memory link
 * pair (the same applet, image file store and T=1 card engine that
 * `homegate card emulate` runs), with the memory link's fault hook.
 */
import { createHomeCardApplet } from '../../card-io/emulator/applet.js';
import { loadCardImage } from '../../card-io/emulator/card-image.js';
import { createMemoryLinkPair, type FaultHook } from '../../card-io/link/memory-link.js';
import type { ByteLink } from '../../card-io/link/link.js';
import { silentLogger } from '../../card-io/base/log.js';
import { T1CardEngine } from '../../card-io/t1/t1-card-engine.js';

export interface CardLine {
  /** The reader's end of the line. */
  readonly hostLink: ByteLink;
  close(): Promise<void>;
}

export async function startMemoryLine(imagePath: string): Promise<CardLine & { setFault(hook: FaultHook | undefined): void }> {
  const applet = createHomeCardApplet({ store: await loadCardImage(imagePath) });
  const pair = createMemoryLinkPair('bench');
  const engine = new T1CardEngine({ link: pair.b, logger: silentLogger, processor: applet });
  engine.start();
  return {
    hostLink: pair.a,
    setFault: (hook) => pair.setFault(hook),
    async close() {
      await engine.stop();
      await pair.a.close();
      await pair.b.close();
    },
  };
}
