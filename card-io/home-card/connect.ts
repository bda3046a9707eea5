/**
 * Open the home card on a line: link → T=1 interface device → HomeCard.
 * The one place the gateway and the CLI assemble the stack, so both get the
 * same reconnect and resynchronization behaviour.
 */
import { CardError, CardErrorCode, isCardError } from '../errors.js';
import type { ByteLink } from '../link/link.js';
import { openLink, type OpenLinkOptions } from '../link/open-link.js';
import { silentLogger, type Logger } from '../base/log.js';
import { T1InterfaceDevice } from '../t1/t1-interface-device.js';
import type { T1Options } from '../t1/t1-options.js';
import { HomeCard } from './home-card.js';

export interface ConnectHomeCardOptions {
  /** Serial device path or tcp://host:port. */
  device: string;
  logger?: Logger;
  t1?: T1Options;
  link?: Omit<OpenLinkOptions, 'logger'>;
  /** How long to wait for the line to open, in ms. Default 5000. */
  openTimeoutMs?: number;
  /** Per-command timeout in ms (see CommandQueue). Default 10000. */
  commandTimeoutMs?: number;
}

export interface HomeCardConnection {
  readonly card: HomeCard;
  readonly link: ByteLink;
  readonly ifd: T1InterfaceDevice;
  close(): Promise<void>;
}

/** Resolves once the line is open; rejects with LinkOpenFailed after the timeout, or at once with LineBusy. */
export function waitForConnected(link: ByteLink, timeoutMs: number): Promise<void> {
  if (link.status === 'connected') return Promise.resolve();
  if (link.status === 'disconnected' && isCardError(link.lastError, CardErrorCode.LineBusy)) return Promise.reject(link.lastError);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new CardError(CardErrorCode.LinkOpenFailed, `No card line at ${link.address} after ${timeoutMs} ms`, { address: link.address }));
    }, timeoutMs);
    const off = link.onStatus((s) => {
      if (s === 'connected') {
        clearTimeout(timer);
        off();
        resolve();
      }
      // Another process owns the line: waiting would not help, say so now.
      if (s === 'disconnected' && isCardError(link.lastError, CardErrorCode.LineBusy)) {
        clearTimeout(timer);
        off();
        reject(link.lastError);
      }
    });
  });
}

export async function connectHomeCard(options: ConnectHomeCardOptions): Promise<HomeCardConnection> {
  const logger = options.logger ?? silentLogger;
  const link = openLink(options.device, { ...options.link, logger: logger.child({ channel: 'link' }) });
  const openTimeoutMs = options.openTimeoutMs ?? 5000;
  const deadline = Date.now() + openTimeoutMs;
  try {
    for (;;) {
      await waitForConnected(link, Math.max(1, deadline - Date.now()));
      const ifd = new T1InterfaceDevice({ ...options.t1, link, logger: logger.child({ channel: 't1' }) });
      try {
        await ifd.start();
      } catch (e) {
        ifd.close();
        // The line dropped right after it opened: a card-side listener still
        // serving the host before us (its FIN not yet seen) refuses a second
        // host. Within the open timeout that is worth another try.
        if (!droppedAtStart(e) || Date.now() >= deadline) throw e;
        logger.debug({ address: link.address }, 'card line dropped while starting; trying again');
        await new Promise((resolve) => setTimeout(resolve, RESTART_PAUSE_MS));
        continue;
      }
      const card = new HomeCard({ transport: ifd, logger: logger.child({ channel: 'card' }), commandTimeoutMs: options.commandTimeoutMs });
      return {
        card,
        link,
        ifd,
        async close() {
          ifd.close();
          await link.close();
        },
      };
    }
  } catch (e) {
    await link.close();
    throw e;
  }
}

/** Pause between two starts of the T=1 exchange on a line that dropped, in ms. */
const RESTART_PAUSE_MS = 50;

function droppedAtStart(e: unknown): boolean {
  return isCardError(e, CardErrorCode.LinkDisconnected) || isCardError(e, CardErrorCode.ExchangeInterrupted) || isCardError(e, CardErrorCode.TransportClosed);
}
