/**
 * Set-up work on a card that sits in a virtual socket (personalization, the
 * market anchor, reading its identity): the emulator answers only after a
 * reset, so the card is activated through the socket as the gateway does it,
 * and deactivated again before the gateway starts.
 */
import type { Logger } from '../../../card-io/base/log.js';
import { activateHomeCard } from '../../../card-io/home-card/connect-socket.js';
import type { HomeCard } from '../../../card-io/home-card/home-card.js';
import { openLink } from '../../../card-io/link/open-link.js';
import { CardSocket } from '../../../card-io/socket/card-socket.js';
import { VirtualSignals } from '../../../card-io/socket/virtual-signals.js';
import type { SocketOptions } from '../../../gateway/card/socket-options.js';

export async function withSocketCard<T>(device: string, control: string, fn: (card: HomeCard) => Promise<T>, logger?: Logger): Promise<T> {
  const link = openLink(device, { backoff: { initialDelayMs: 10, maxDelayMs: 100 }, ...(logger ? { logger } : {}) });
  const signals = await VirtualSignals.connect({ control, ...(logger ? { logger } : {}) });
  const socket = await CardSocket.open({ signals, link, baudRate: 115200, closeLink: true, ...(logger ? { logger } : {}) });
  try {
    const active = await activateHomeCard({ socket, baudRate: 115200, ...(logger ? { logger } : {}) });
    try {
      return await fn(active.card);
    } finally {
      active.close();
      await socket.deactivate();
    }
  } finally {
    await socket.close();
  }
}

/** card.socket for a virtual socket on `control`, with the schema's defaults. */
export function virtualSocketConfig(control: string, o: Partial<SocketOptions> = {}): SocketOptions {
  return { backend: 'virtual', control, debounceMs: 20, atrTimeoutMs: 500, pps: true, ...o } as SocketOptions;
}
