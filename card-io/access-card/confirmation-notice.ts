/**
 * Telling the person at the terminal that the gateway waits for its confirm
 * button (API.md, "Confirmation on the gateway"). The gateway answers a pay
 * or top-up above its threshold only after the press, so the request alone
 * looks like a hang for up to `panel.confirm.timeoutMs` (30 s). While the
 * request runs, the terminal reads GET /v1/health, whose `panel.
 * pendingConfirmation` shows what waits (kind, amount, currency, until when;
 * never which terminal asked), and reports it once when it matches this
 * request. The request itself is untouched: this only watches, on a
 * connection of its own (the request's holds the only socket of its client),
 * opened only when the request has not been answered after POLL_MS.
 */
import type { GatewayClient } from './gateway-client.js';

/** What waits for the gateway's confirm button, as GET /v1/health shows it. */
export interface PendingConfirmationNotice {
  kind: 'pay' | 'topup';
  /** Minor units. */
  amount: number;
  currency?: string;
  /** ISO time after which the gateway refuses (confirmation-timeout). */
  expiresAt: string;
}

/** How often the health endpoint is read while a request runs, in ms: a person notices a second, not less. */
const POLL_MS = 500;

/**
 * Resolves as `request` does; meanwhile calls `waiting` once, when the
 * gateway shows a pending confirmation of this kind and amount.
 */
export async function watchForConfirmation<T>(
  connect: () => Pick<GatewayClient, 'get' | 'close'>,
  request: Promise<T>,
  expected: { kind: 'pay' | 'topup'; amount: number },
  waiting: ((p: PendingConfirmationNotice) => void) | undefined,
): Promise<T> {
  if (!waiting) return request;
  let settled = false;
  let told = false;
  let timer: NodeJS.Timeout | undefined;
  let gateway: Pick<GatewayClient, 'get' | 'close'> | undefined;
  const look = async () => {
    if (settled) return;
    gateway ??= connect();
    const health = await gateway.get('/v1/health').catch(() => undefined);
    if (settled || told) return;
    const p = (health?.panel as { pendingConfirmation?: PendingConfirmationNotice | null } | undefined)?.pendingConfirmation;
    if (p && p.kind === expected.kind && p.amount === expected.amount) {
      told = true;
      waiting(p);
      return;
    }
    timer = setTimeout(() => void look(), POLL_MS);
  };
  timer = setTimeout(() => void look(), POLL_MS);
  try {
    return await request;
  } finally {
    settled = true;
    clearTimeout(timer);
    gateway?.close();
  }
}
