/** Fail early and clearly when a TCP port the sandbox needs is taken. */
import net from 'node:net';

export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
  constructor(readonly port: number, readonly what: string, readonly flag: string) {
    super(`Port ${port} for the ${what} is already in use. Stop whatever uses it, or choose another port with ${flag} <port>.`);
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
