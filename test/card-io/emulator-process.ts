/**
 * The emulator as its own process (`homegate card emulate`, as the sandbox
 * runs it) with the driver connected to it: raw APDUs go through the T=1
 * interface device, typed calls through `conn.card`. `kill()` is SIGKILL,
 * the closest a process comes to losing power.
 */
import { connectHomeCard, type HomeCardConnection } from '../../card-io/home-card/connect.js';
import { spawnEmulator, type EmulatorChild } from '../../deploy/sandbox/household/emulator-child.js';

export interface EmulatorProcess {
  readonly conn: HomeCardConnection;
  /** Raw command APDU in, raw response APDU out. */
  send(apdu: Buffer): Promise<Buffer>;
  /** SIGKILL the emulator and wait for it to be gone; then close the driver (pending commands fail). */
  kill(): Promise<void>;
  /** Close the driver and stop the emulator politely. Idempotent. */
  stop(): Promise<void>;
}

function hasExited(e: EmulatorChild): boolean {
  return e.process.exitCode !== null || e.process.signalCode !== null;
}

/** `device`: tcp://host:port or a serial path the emulator serves. */
export async function startEmulatorProcess(device: string, imagePath: string, hostDevice = device): Promise<EmulatorProcess> {
  const emulator = await spawnEmulator(device, imagePath, [], 'error');
  let conn: HomeCardConnection;
  try {
    conn = await connectHomeCard({ device: hostDevice, link: { backoff: { initialDelayMs: 10, maxDelayMs: 100 } } });
  } catch (e) {
    await emulator.stop();
    throw e;
  }
  return {
    conn,
    send: (apdu) => conn.ifd.transmit(apdu),
    async kill() {
      if (!hasExited(emulator)) {
        const exited = new Promise<void>((resolve) => emulator.process.once('exit', () => resolve()));
        emulator.process.kill('SIGKILL');
        await exited;
      }
      await conn.close();
    },
    async stop() {
      await conn.close();
      await emulator.stop();
    },
  };
}
