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
import { T1CardEngine, type CommandProcessor } from '../t1/t1-card-engine.js';
import { DEFAULT_BAUD_RATE } from '../link/serial-transport.js';
import { parseControlAddress } from '../socket/contact-control.js';
import type { Convention } from '../atr/atr-convention.js';
import { CARD_IFSC, homeCardAtr } from './card-atr.js';
import { CardContacts } from './card-contacts.js';
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
  /**
   * The card in a socket: serve the contacts (VCC, RST, detect) on this control
   * channel, tcp://host:port or a unix socket path (card-contacts.ts). The card
   * then answers every reset with its ATR (card-atr.ts) and PPS. Absent: the
   * line coming up is the card's reset, and no ATR is sent.
   */
  control?: string;
  /** With `control`: whether the card is in the socket at start. Default true. */
  inserted?: boolean;
  /** With `control`: the character convention the card uses (§8.1, TS 3B or 3F). Default direct. */
  convention?: Convention;
}

export interface RunningCardEmulator {
  readonly link: ByteLink;
  readonly applet: HomeCardApplet;
  /** With `control`: the control channel's address as bound. */
  readonly control?: string;
  stop(): Promise<void>;
}

export async function startCardEmulator(options: CardEmulatorOptions): Promise<RunningCardEmulator> {
  const logger = options.logger ?? silentLogger;
  const image = await loadCardImage(options.imagePath, { logger });
  const applet = createHomeCardApplet({ store: image, logger: logger.child({ channel: 'applet' }) });
  const slowMs = options.slowMs ?? 0;
  const processor = slowMs ? { process: async (apdu: Buffer) => (await new Promise((r) => setTimeout(r, slowMs)), applet.process(apdu)) } : applet;
  const link = openCardSideLink(options.device, { ...options.link, logger: logger.child({ channel: 'link' }) });
  if (options.control) return startInSocket(options, options.control, link, applet, processor, logger);
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

/** The card behind a virtual socket: reset by RST on the control channel, not by the line coming up. */
async function startInSocket(
  options: CardEmulatorOptions,
  control: string,
  link: ByteLink,
  applet: HomeCardApplet,
  processor: CommandProcessor,
  logger: Logger,
): Promise<RunningCardEmulator> {
  const baudRate = options.link?.baudRate ?? DEFAULT_BAUD_RATE;
  const edc = options.t1?.edc ?? 'lrc';
  const atr = homeCardAtr({ edc, bwtMs: options.t1?.bwtMs ?? 1500, baudRate, convention: options.convention });
  let engine: T1CardEngine | undefined;
  const contacts = await CardContacts.listen({
    link,
    control: parseControlAddress(control),
    atr,
    baudRate,
    inserted: options.inserted,
    logger: logger.child({ channel: 'contacts' }),
    onReset: () => {
      engine?.resetProtocol();
      applet.powerCycle();
    },
  }).catch(async (e: unknown) => {
    await link.close();
    throw e;
  });
  engine = new T1CardEngine({ ...options.t1, ifsc: CARD_IFSC, link: contacts.gate, logger: logger.child({ channel: 't1' }), processor });
  engine.start();
  if (!options.device.startsWith('tcp://')) await waitForConnected(link, 5000).catch(() => undefined);
  logger.info({ device: link.address, control: contacts.address, image: options.imagePath }, 'card emulator started in a virtual socket');
  return {
    link,
    applet,
    control: contacts.address,
    async stop() {
      await contacts.close();
      await engine?.stop();
      await link.close();
    },
  };
}
