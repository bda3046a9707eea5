/**
 * The panel's johnny-five Board over the IO plugin the configuration names.
 * johnny-five's REPL, debug output and SIGINT handler are off: the gateway
 * owns the terminal, its logs and its signals.
 */
import five, { type Board, type BoardOptions } from 'johnny-five';
import type { Logger } from '../../card-io/base/log.js';
import { PanelError } from './digital-io-plugin.js';
import { openFirmataBoard } from './firmata-io.js';
import { LinuxGpioIo } from './linux-gpio-io.js';
import type { PanelOptions } from './panel-options.js';
import { VirtualIo } from './virtual-io.js';

export interface PanelBoard {
  board: Board;
  /** The virtual plugin, when that is the one (the sandbox and tests drive its inputs). */
  virtual?: VirtualIo;
  close(): Promise<void>;
}

export async function openPanelBoard(o: Pick<PanelOptions, 'plugin' | 'device' | 'baudRate' | 'chip'>, logger: Logger): Promise<PanelBoard> {
  let io: BoardOptions['io'];
  let close: () => Promise<void>;
  let virtual: VirtualIo | undefined;
  switch (o.plugin) {
    case 'virtual': {
      virtual = new VirtualIo();
      io = virtual;
      close = () => virtual!.close();
      break;
    }
    case 'linux-gpio': {
      const gpio = await new LinuxGpioIo({ chip: o.chip, logger }).start();
      io = gpio;
      close = () => gpio.close();
      break;
    }
    case 'firmata': {
      if (!o.device) throw new PanelError('io-failed', 'The firmata panel needs "device" in gateway.json', {});
      const f = await openFirmataBoard({ device: o.device, baudRate: o.baudRate });
      io = f.io;
      close = f.close;
      break;
    }
  }
  const board = new five.Board({ io, repl: false, debug: false, sigint: false });
  await new Promise<void>((resolve, reject) => {
    board.once('ready', () => resolve());
    board.once('error', (e: Error) => reject(new PanelError('io-failed', `The ${o.plugin} panel board failed: ${e.message}`, {})));
  });
  return { board, ...(virtual ? { virtual } : {}), close };
}
