/**
 * The access card's channel to the gateway (claims 7, 10): HTTPS over TLS
 * 1.3 with the terminal's certificate, the gateway verified against the
 * household CA, every POST signed with the terminal's key (API.md).
 */
import { Agent, request } from 'node:https';
import { isIP } from 'node:net';
import { AccessCardError } from './access-card-error.js';
import { SIGNED_REQUEST_CONTENT_TYPE, signRequest } from './request-signer.js';
import type { TerminalProfile } from './terminal-profile.js';

export interface GatewayClientOptions {
  /** Per-request timeout in ms. Default 30000 (an authorization waits for the card and the market). */
  timeoutMs?: number;
}

export class GatewayClient {
  private readonly url: URL;
  /**
   * One kept-alive mutual-TLS connection for the requests of one command
   * (whoami, then authorize or pay): a second full handshake per request would
   * double the terminal's CPU (measured in test/bench/delegated-*).
   */
  private readonly agent: Agent;

  constructor(
    private readonly profile: TerminalProfile,
    private readonly options: GatewayClientOptions = {},
  ) {
    this.url = new URL(profile.gatewayUrl);
    this.agent = new Agent({ keepAlive: true, maxSockets: 1 });
  }

  /** Close the kept-alive connection (so a command-line process can exit at once). */
  close(): void {
    this.agent.destroy();
  }

  get(path: string): Promise<Record<string, unknown>> {
    return this.send('GET', path, undefined);
  }

  /** POST a signed request whose JWS body carries `body`. */
  async post(path: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const jws = await signRequest({ terminalId: this.profile.terminalId, privateKey: this.profile.key, method: 'POST', path, body });
    return this.send('POST', path, jws);
  }

  private send(method: 'GET' | 'POST', path: string, payload: string | undefined): Promise<Record<string, unknown>> {
    const timeoutMs = this.options.timeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.url.hostname,
          port: Number(this.url.port || 443),
          path,
          method,
          key: this.profile.keyPem,
          cert: this.profile.certificatePem,
          ca: this.profile.householdCaPem,
          minVersion: 'TLSv1.3',
          maxVersion: 'TLSv1.3',
          // SNI carries host names only (RFC 6066 §3): a gateway found by address (mDNS) gets none.
          ...(isIP(this.url.hostname.replace(/^\[|\]$/g, '')) === 0 ? { servername: this.url.hostname } : {}),
          agent: this.agent,
          timeout: timeoutMs,
          headers: payload ? { 'content-type': SIGNED_REQUEST_CONTENT_TYPE, 'content-length': Buffer.byteLength(payload) } : {},
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            let json: Record<string, unknown>;
            try {
              json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
            } catch {
              return reject(new AccessCardError('gateway-bad-answer', `The gateway answered ${res.statusCode} without JSON`));
            }
            if ((res.statusCode ?? 500) >= 400) {
              const err = (json.error ?? {}) as { code?: string; message?: string };
              const context = { ...err, status: res.statusCode ?? 0, code: err.code ?? 'unknown' };
              return reject(new AccessCardError('gateway-refused', err.message ?? `HTTP ${res.statusCode}`, context));
            }
            resolve(json);
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (e) => reject(new AccessCardError('gateway-unreachable', `Cannot reach the gateway at ${this.url.origin}: ${e.message}`)));
      req.end(payload);
    });
  }
}
