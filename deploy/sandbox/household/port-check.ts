/** Fail early and clearly when a TCP port the sandbox needs is taken. */
import net from 'node:net';
import { CodedError } from '../../../card-io/base/coded-error.js';

export class PortInUseError extends CodedError<'port-in-use'> {
  override readonly name = 'PortInUseError';
  readonly family = 'sandbox';
  constructor(
    readonly port: number,
    readonly what: string,
    readonly flag: string,
  ) {
    super('port-in-use', `Port ${port} for the ${what} is already in use. Stop whatever uses it, or choose another port with ${flag} <port>.`, {
      port,
      what,
      flag,
    });
  }
}

export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

export async function assertPortFree(port: number, what: string, flag: string): Promise<void> {
  if (!(await isPortFree(port))) throw new PortInUseError(port, what, flag);
}
