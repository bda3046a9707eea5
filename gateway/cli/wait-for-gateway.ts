/** Poll the gateway's health endpoint until it answers or the time is up. */
import { request } from 'node:https';
import { CodedError } from '../../card-io/base/coded-error.js';

export interface GatewayHealth {
  ok: boolean;
  version: string;
  card: string;
  /** The card socket (present, state, ATR, T=1 parameters), when the card sits in one. */
  socket?: Record<string, unknown>;
}

function healthOnce(url: string, ca: Buffer | undefined, servername?: string): Promise<GatewayHealth> {
  const u = new URL('/v1/health', url);
  return new Promise((resolve, reject) => {
    const options = {
      host: u.hostname,
      port: u.port,
      path: u.pathname,
      ...(servername ? { servername } : {}),
      ca,
      rejectUnauthorized: ca !== undefined,
      minVersion: 'TLSv1.3',
      agent: false,
      timeout: 3000,
    } as const;
    const req = request(options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as GatewayHealth);
        } catch (e) {
          reject(e as Error);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

export interface GatewayTarget {
  url: string;
  /** The household CA (PEM) that must have issued the gateway's certificate. */
  ca: Buffer | undefined;
  /** The name the certificate must carry, when it is not the URL's host (a local check against a provisioned gateway's own name). */
  servername?: string;
}

/**
 * Thrown by a `locate` function when the gateway is not set up YET (no
 * gateway.json, as while a first `npm start` is still creating it): retried
 * until the deadline, then reported as `gateway-not-configured`.
 */
export class GatewayNotConfigured extends CodedError<'gateway-not-configured'> {
  override readonly name = 'GatewayNotConfigured';
  readonly family = 'cli';
  constructor(message: string) {
    super('gateway-not-configured', message, {});
  }
}

/** The gateway did not answer its health check before the deadline. */
export class GatewayUnreachable extends CodedError<'gateway-unreachable'> {
  override readonly name = 'GatewayUnreachable';
  readonly family = 'cli';
  constructor(url: string, message: string, options?: { cause?: unknown }) {
    super('gateway-unreachable', message, { url }, options);
  }
}

export async function waitForGateway(url: string, ca: Buffer | undefined, waitMs: number): Promise<GatewayHealth> {
  return waitForGatewayTarget(async () => ({ url, ca }), waitMs);
}

/** Like waitForGateway, but finds the URL and CA again on every try, so it also waits for the configuration to appear. */
export async function waitForGatewayTarget(locate: () => Promise<GatewayTarget>, waitMs: number): Promise<GatewayHealth> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    let target: GatewayTarget | undefined;
    try {
      target = await locate();
      return await healthOnce(target.url, target.ca, target.servername);
    } catch (e) {
      if (target === undefined && !(e instanceof GatewayNotConfigured)) throw e;
      if (Date.now() >= deadline) {
        if (target === undefined) throw e;
        throw new GatewayUnreachable(target.url, `The gateway at ${target.url} does not answer: ${(e as Error).message}`, { cause: e });
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
