/**
 * The firmata board: an Arduino running StandardFirmata on USB serial, in
 * johnny-five's own protocol (Firmata 2.x: REPORT_VERSION, the capability and
 * analog-mapping queries, PIN_MODE, DIGITAL_MESSAGE, REPORT_DIGITAL). The
 * `firmata` package's Board is itself an IO plugin; it gets a port from our
 * `serialport` (package.json's overrides point firmata at it), opened here,
 * because firmata's own opener predates serialport 10's constructor.
 */
import Firmata from 'firmata';
import { SerialPort } from 'serialport';
import { PanelError } from './digital-io-plugin.js';

export interface FirmataBoardOptions {
  device: string;
  /** StandardFirmata's default is 57600. */
  baudRate: number;
  /** How long to wait for the board's version before asking for it, in ms. Default 2000 (an Uno resets when the port opens). */
  reportVersionTimeoutMs?: number;
  /** How long the whole handshake may take, in ms. Default 10000. */
  readyTimeoutMs?: number;
}

export interface FirmataBoard {
  io: InstanceType<typeof Firmata.Board>;
  close(): Promise<void>;
}

export async function openFirmataBoard(o: FirmataBoardOptions): Promise<FirmataBoard> {
  const port = new SerialPort({ path: o.device, baudRate: o.baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) =>
    port.open((e) =>
      e ? reject(new PanelError('io-failed', `Cannot open the panel's Arduino at ${o.device}: ${e.message}`, { device: o.device })) : resolve(),
    ),
  );
  const close = () => new Promise<void>((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve()));
  const io = new Firmata.Board(port, { reportVersionTimeout: o.reportVersionTimeoutMs ?? 2000 });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new PanelError('io-failed', `The Arduino at ${o.device} did not complete the Firmata handshake (is StandardFirmata flashed?)`, {})),
        o.readyTimeoutMs ?? 10_000,
      );
      io.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  } catch (e) {
    await close();
    throw e;
  }
  return { io, close };
}
