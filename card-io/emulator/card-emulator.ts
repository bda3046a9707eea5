/**
 * The emulator as a running card: the applet and its image behind a T=1 card
 * engine on a byte link (a serial device, a pty, or tcp://host:port served
 * ser2net style). Each time a reader attaches, the card powers up afresh:
 * protocol state and the volatile card session are cleared, the image stays.
 */
import type { ByteLink } from '../link/link.js';
import { openCardSideLink, type OpenLinkOptions } from '../link/open-link.js';
import { waitForConnected } from '../home-card/connect.js';
import { silentLogger, type Logger } from '../base/log.js';
import { T1CardEngine } from '../t1/t1-card-engine.js';
import type { T1Options } from '../t1/t1-options.js';
import { createHomeCardApplet, type HomeCardApplet } from './applet.js';
import { loadCardImage } from './card-image.js';

export interface CardEmulatorOptions {
  /** Serial device path or tcp://host:port to serve. */
  device: string;
  /** The card image file (see `homegate card new-image`). */
  imagePath: string;
  logger?: Logger;
  t1?: T1Options;
  link?: Omit<OpenLinkOptions, 'logger'>;
  /** Extra processing time per command in ms, to exercise S(WTX). Default 0. */
  slowMs?: number;
}

export interface RunningCardEmulator {
  readonly link: ByteLink;
  readonly applet: HomeCardApplet;
  stop(): Promise<void>;
}

export async function startCardEmulator(options: CardEmulatorOptions): Promise<RunningCardEmulator> {
  const logger = options.logger ?? silentLogger;
  const image = await loadCardImage(options.imagePath, { logger });
  const applet = createHomeCardApplet({ store: image, logger: logger.child({ channel: 'applet' }) });
  const slowMs = options.slowMs ?? 0;
  const processor = slowMs ? { process: async (apdu: Buffer) => (await new Promise((r) => setTimeout(r, slowMs)), applet.process(apdu)) } : applet;
  const link = openCardSideLink(options.device, { ...options.link, logger: logger.child({ channel: 'link' }) });
  const engine = new T1CardEngine({ ...options.t1, link, logger: logger.child({ channel: 't1' }), processor });
  const unsubscribe = link.onStatus((status) => {
    if (status === 'connected') {
      engine.resetProtocol();
      applet.powerCycle();
    }
  });
  engine.start();
  // A serial device opens at once; wait for it so a reader's first block is not sent into nothing.
  // (A TCP listener is 'connected' only once a reader attaches.)
  if (!options.device.startsWith('tcp://')) await waitForConnected(link, 5000).catch(() => undefined);
  logger.info({ device: link.address, image: options.imagePath }, 'card emulator started');
  return {
    link,
    applet,
    async stop() {
      unsubscribe();
      await engine.stop();
      await link.close();
    },
  };
}
