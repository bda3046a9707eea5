/**
 * The market's address, looked up once every few seconds instead of for every
 * connection. `tls.connect` to a host name calls `dns.lookup` (getaddrinfo on
 * libuv's thread pool) each time: ≈ 4–6 % of the gateway's CPU per
 * authorization in a profile at 32 terminals (docs/PERFORMANCE.md), for an
 * answer that does not change between two authorizations. getaddrinfo tells
 * no TTL, so the answer is kept for a short fixed time (`ttlMs`, default 5 s):
 * a market that moves is reached at its new address within seconds. Failures
 * are not kept.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import type { LookupFunction } from 'node:net';

/** What `dns.lookup(hostname, { ...options, all: true }, cb)` does. */
export type ResolveAll = (
  hostname: string,
  options: LookupOptions & { all: true },
  callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

export interface CachedLookupOptions {
  /** How long an answer is used, ms. Default 5000. */
  ttlMs?: number;
  /** Most host names kept (a household registers a few markets). Default 64. */
  maxEntries?: number;
  /** Default dns.lookup. */
  resolve?: ResolveAll;
  /** Default Date.now. */
  clock?: () => number;
}

export function createCachedLookup(o: CachedLookupOptions = {}): LookupFunction {
  const ttlMs = o.ttlMs ?? 5000;
  const maxEntries = o.maxEntries ?? 64;
  const resolve: ResolveAll = o.resolve ?? ((hostname, options, callback) => dnsLookup(hostname, options, callback));
  const clock = o.clock ?? Date.now;
  const kept = new Map<string, { at: number; addresses: LookupAddress[] }>();
  return (hostname, options, callback) => {
    // net asks with `all: true` when it tries several addresses (autoSelectFamily), else for one.
    const answer = (addresses: LookupAddress[]) => {
      if (options.all) callback(null, addresses);
      else callback(null, addresses[0]!.address, addresses[0]!.family);
    };
    const key = `${options.family ?? 0}/${options.hints ?? 0}/${hostname}`;
    const hit = kept.get(key);
    if (hit !== undefined && clock() - hit.at < ttlMs) {
      process.nextTick(answer, hit.addresses);
      return;
    }
    resolve(hostname, { ...options, all: true }, (err, addresses) => {
      if (err || addresses.length === 0) {
        kept.delete(key);
        if (err) callback(err, options.all ? [] : '', undefined);
        else callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), options.all ? [] : '', undefined);
        return;
      }
      if (kept.size >= maxEntries) kept.delete(kept.keys().next().value!);
      kept.set(key, { at: clock(), addresses });
      answer(addresses);
    });
  };
}

/** The gateway's: every market connection (pre-flight and authorization) looks its host up through it. */
export const marketLookup: LookupFunction = createCachedLookup();
