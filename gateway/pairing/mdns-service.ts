/**
 * The gateway on the LAN by multicast DNS (RFC 6762) and DNS-SD (RFC 6763):
 * service type `_homegate._tcp`, so that `homegate terminal pair` finds the
 * gateway when the code carries no URL and none is given.
 *
 * Discovery is a convenience, not trust: whatever answers, the terminal
 * pins the gateway by the household root's fingerprint in the code before it
 * sends anything (pair-terminal.ts), so a forged answer costs a failed
 * pairing, nothing more.
 *
 * multicast-dns (pure JS, two small dependencies; its own project also
 * underlies bonjour-service) speaks the wire format; the records are ours:
 * PTR service → instance, SRV instance → host and port, TXT, and A records
 * for the host's non-internal IPv4 addresses.
 */
import { networkInterfaces } from 'node:os';
import makeMdns from 'multicast-dns';
import type { Logger } from '../../card-io/base/log.js';

export const HOMEGATE_SERVICE = '_homegate._tcp.local';
/** RFC 6762 §3. */
export const MDNS_PORT = 5353;

export interface Advertisement {
  stop(): Promise<void>;
}

function ipv4Addresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && a.family === 'IPv4' && !a.internal)
    .map((a) => a!.address);
}

/** Answers DNS-SD queries for `_homegate._tcp.local` until stopped. */
export function advertiseGateway(o: {
  instance: string;
  hostName: string;
  port: number;
  /** The IPv4 addresses the listener is bound to; default: every non-internal one of the host (bound to 0.0.0.0). */
  addresses?: readonly string[];
  mdnsPort?: number;
  logger: Logger;
}): Advertisement {
  const mdns = makeMdns({ port: o.mdnsPort ?? MDNS_PORT, loopback: true, reuseAddr: true });
  const instance = `${o.instance}.${HOMEGATE_SERVICE}`;
  const host = `${o.hostName}.local`;
  mdns.on('error', (e: Error) => o.logger.warn({ err: e.message }, 'mDNS advertisement failed; terminals need the gateway URL to pair'));
  mdns.on('query', (q) => {
    if (!q.questions.some((x) => x.name === HOMEGATE_SERVICE || x.name === instance)) return;
    mdns.respond({
      answers: [{ name: HOMEGATE_SERVICE, type: 'PTR', ttl: 120, data: instance }],
      additionals: [
        { name: instance, type: 'SRV', ttl: 120, data: { port: o.port, target: host, priority: 0, weight: 0 } },
        { name: instance, type: 'TXT', ttl: 120, data: ['txtvers=1', 'api=/v1'] },
        ...(o.addresses ?? ipv4Addresses()).map((address) => ({ name: host, type: 'A' as const, ttl: 120, data: address })),
      ],
    });
  });
  return { stop: () => new Promise<void>((resolve) => mdns.destroy(() => resolve())) };
}

/** The first gateway that answers within `timeoutMs`, as an https URL; undefined when none does. */
export function discoverGateway(o: { timeoutMs?: number; mdnsPort?: number } = {}): Promise<string | undefined> {
  const mdns = makeMdns({ port: o.mdnsPort ?? MDNS_PORT, loopback: true, reuseAddr: true });
  return new Promise((resolve) => {
    const finish = (url: string | undefined) => {
      clearTimeout(timer);
      clearInterval(again);
      mdns.destroy();
      resolve(url);
    };
    const timer = setTimeout(() => finish(undefined), o.timeoutMs ?? 3000);
    mdns.on('error', () => finish(undefined));
    mdns.on('response', (r) => {
      const records = [...r.answers, ...(r.additionals ?? [])];
      const srv = records.find((x) => x.type === 'SRV' && x.name.endsWith(`.${HOMEGATE_SERVICE}`));
      if (srv?.type !== 'SRV') return;
      const a = records.find((x) => x.type === 'A' && x.name === srv.data.target);
      const host = a?.type === 'A' ? a.data : srv.data.target;
      finish(`https://${host}:${srv.data.port}`);
    });
    const ask = () => mdns.query({ questions: [{ name: HOMEGATE_SERVICE, type: 'PTR' }] });
    // Queries are repeated, as RFC 6762 §5.2 has continuous queriers do, in case the first is lost.
    const again = setInterval(ask, 1000);
    ask();
  });
}
