/** Watching a test household's gateway: the next event of a kind on its bus, and its public health answer. */
import type { GatewayEventMap, GatewayEventName } from '../../../gateway/events/gateway-events.js';
import { gatewayRequest, type Household } from './household.js';

/** The next `name` event on the gateway's bus, with the time it was seen; rejects after `timeoutMs`. */
export function nextEvent<K extends GatewayEventName>(h: Household, name: K, timeoutMs = 5000): Promise<GatewayEventMap[K] & { seenAt: number }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${name} event within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = h.gateway.events.on(name, (payload) => {
      clearTimeout(timer);
      off();
      resolve({ ...payload, seenAt: Date.now() });
    });
  });
}

/** GET /v1/health of the household's gateway, pinned by the household CA. */
export async function gatewayHealth(h: Household): Promise<Record<string, unknown>> {
  const r = await gatewayRequest({ url: h.gatewayUrl, path: '/v1/health', method: 'GET', caPem: (await h.loadProfile()).householdCaPem });
  return r.json;
}
