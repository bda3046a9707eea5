/**
 * From `card.socket` in gateway.json to a running CardSocket: the card line
 * (card.device), the backend's signals, and, for the virtual backend, the
 * hand that inserts and pulls the card (the admin socket's
 * `panel insert|remove`). The gpio backend lives with the panel
 * (gateway/panel/, johnny-five): it is injected, and choosing it without
 * one is a configuration error.
 */
import type { Logger } from '../../card-io/base/log.js';
import type { ByteLink } from '../../card-io/link/link.js';
import { openLink } from '../../card-io/link/open-link.js';
import { CardSocket } from '../../card-io/socket/card-socket.js';
import { ModemLinesSignals } from '../../card-io/socket/modem-lines-signals.js';
import type { SocketSignals } from '../../card-io/socket/socket-signals.js';
import { VirtualSignals, type SocketPerson } from '../../card-io/socket/virtual-signals.js';
import { ConfigError, dataPath } from '../config/gateway-config.js';
import type { SocketOptions } from './socket-options.js';

export interface OpenCardSocketOptions {
  socket: SocketOptions;
  /** card.device: the card's I/O line. */
  device: string;
  /** card.baudRate: the line's speed at Fd/Dd. */
  baudRate: number;
  dataDir: string;
  /** The panel's gpio backend (johnny-five pins from card.socket), when the gateway has a panel. */
  gpio?: () => SocketSignals;
  logger: Logger;
  /** The configuration file, for errors. Default gateway.json. */
  configFile?: string;
}

export interface OpenedCardSocket {
  readonly socket: CardSocket;
  readonly link: ByteLink;
  /** The virtual backend's hand: insert and pull the card. Undefined for hardware backends. */
  readonly person?: SocketPerson;
}

export async function openCardSocket(o: OpenCardSocketOptions): Promise<OpenedCardSocket> {
  const s = o.socket;
  let signals: SocketSignals | undefined;
  let person: SocketPerson | undefined;
  const link = openLink(o.device, { baudRate: o.baudRate, logger: o.logger.child({ channel: 'link' }) });
  try {
    switch (s.backend) {
      case 'virtual': {
        const control = s.control.startsWith('tcp://') ? s.control : dataPath(o.dataDir, s.control);
        const virtual = await VirtualSignals.connect({ control, logger: o.logger.child({ channel: 'socket' }) });
        signals = virtual;
        person = virtual.person;
        break;
      }
      case 'modem-lines':
        signals = new ModemLinesSignals({
          lines: () => link.modemLines,
          detect: { line: s.detectLine, activeLow: s.detectActiveLow },
          reset: { line: s.resetLine, activeLow: s.resetActiveLow },
          pollMs: s.pollMs,
          logger: o.logger.child({ channel: 'socket' }),
        });
        break;
      case 'gpio':
        if (!o.gpio) {
          throw new ConfigError(o.configFile ?? 'gateway.json', [
            'card.socket.backend: "gpio" needs the panel (johnny-five board) to drive the pins, and this gateway has none; configure the panel or choose "modem-lines" or "virtual"',
          ]);
        }
        signals = o.gpio();
        break;
    }
    const socket = await CardSocket.open({
      signals,
      link,
      baudRate: o.baudRate,
      clockHz: s.clockHz,
      debounceMs: s.debounceMs,
      atrStartFloorMs: s.atrTimeoutMs,
      pps: s.pps,
      closeLink: true,
      logger: o.logger.child({ channel: 'socket' }),
    });
    return { socket, link, ...(person ? { person } : {}) };
  } catch (e) {
    await signals?.close();
    await link.close();
    throw e;
  }
}
