/**
 * The market's address kept for a few seconds (gateway/proxy/market-lookup.ts)
 * instead of a getaddrinfo per market connection.
 */
import test from 'ava';
import type { LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { createCachedLookup, type ResolveAll } from '../../gateway/proxy/market-lookup.js';

function countingResolver(answers: Record<string, LookupAddress[] | Error>): { resolve: ResolveAll; calls: string[] } {
  const calls: string[] = [];
  const resolve: ResolveAll = (hostname, _options, callback) => {
    calls.push(hostname);
    const a = answers[hostname];
    setImmediate(() => (a instanceof Error ? callback(a, []) : callback(null, a ?? [])));
  };
  return { resolve, calls };
}

function ask(lookup: LookupFunction, hostname: string, all: boolean): Promise<{ err: unknown; address: unknown; family: unknown }> {
  return new Promise((resolve) => lookup(hostname, { all }, (err, address, family) => resolve({ err, address, family })));
}

const SHOP: LookupAddress[] = [
  { address: '192.0.2.7', family: 4 },
  { address: '2001:db8::7', family: 6 },
];

test('a host is looked up once within the time to live, and again after it', async (t) => {
  let now = 1_000_000;
  const r = countingResolver({ 'shop.example': SHOP });
  const lookup = createCachedLookup({ resolve: r.resolve, ttlMs: 5000, clock: () => now });
  t.deepEqual(await ask(lookup, 'shop.example', true), { err: null, address: SHOP, family: undefined });
  now += 4999;
  t.deepEqual(await ask(lookup, 'shop.example', false), { err: null, address: '192.0.2.7', family: 4 });
  t.deepEqual(r.calls, ['shop.example']);
  now += 1;
  await ask(lookup, 'shop.example', true);
  t.deepEqual(r.calls, ['shop.example', 'shop.example']);
});

test('a failed lookup is not kept: the next connection asks again', async (t) => {
  const notFound = Object.assign(new Error('getaddrinfo ENOTFOUND gone.example'), { code: 'ENOTFOUND' });
  const r = countingResolver({ 'gone.example': notFound, 'empty.example': [] });
  const lookup = createCachedLookup({ resolve: r.resolve });
  t.is((await ask(lookup, 'gone.example', false)).err, notFound);
  t.is((await ask(lookup, 'gone.example', true)).err, notFound);
  t.is(((await ask(lookup, 'empty.example', false)).err as { code?: string }).code, 'ENOTFOUND');
  t.deepEqual(r.calls, ['gone.example', 'gone.example', 'empty.example']);
});

test('the real resolver answers localhost through the cache in both forms', async (t) => {
  const lookup = createCachedLookup();
  const all = await ask(lookup, 'localhost', true);
  t.is(all.err, null);
  t.true(Array.isArray(all.address) && all.address.length > 0);
  const one = await ask(lookup, 'localhost', false);
  t.is(one.err, null);
  t.is(typeof one.address, 'string');
});
