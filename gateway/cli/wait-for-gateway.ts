/** Poll the gateway's health endpoint until it answers or the time is up. */
import { request } from 'node:https';

export interface GatewayHealth {
  ok: boolean;
  version: string;
  card: string;
}

function healthOnce(url: string, ca: Buffer | undefined): Promise<GatewayHealth> {
  const u = new URL('/v1/health', url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, ca, rejectUnauthorized: ca !== undefined, minVersion: 'TLSv1.3', agent: false, timeout: 3000 }, (res) => {
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

export async function waitForGateway(url: string, ca: Buffer | undefined, waitMs: number): Promise<GatewayHealth> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return await healthOnce(url, ca);
    } catch (e) {
      if (Date.now() >= deadline) throw Object.assign(new Error(`The gateway at ${url} does not answer: ${(e as Error).message}`), { code: 'gateway-unreachable' });
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
