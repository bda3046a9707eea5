/**
 * The e-money managing facility's channel to the issuer (claim 6): mutual
 * TLS with the household's credential, a certificate the issuer registered
 * for this household. The issuer answers a load authorization bound to the
 * card's challenge.
 */
import { readFile } from 'node:fs/promises';
import { ApiError } from '../terminal-api/api-error.js';
import { httpsJson, PeerError } from './https-json.js';
import { loadAuthorizationSchema } from './peer-answers.js';

export interface IssuerClientOptions {
  url: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  timeoutMs?: number;
}

export class IssuerClient {
  private files: Promise<[Buffer, Buffer, Buffer]> | undefined;

  constructor(private readonly o: IssuerClientOptions) {}

  async requestLoad(p: { cardId: string; amount: number; currency: string; challenge: Buffer }): Promise<{ authorization: Buffer; signature: Buffer }> {
    this.files ??= Promise.all([readFile(this.o.caFile), readFile(this.o.certFile), readFile(this.o.keyFile)]);
    const [ca, cert, key] = await this.files;
    const r = await httpsJson({
      url: new URL('/v1/loads', this.o.url).href,
      method: 'POST',
      body: { cardId: p.cardId, amount: p.amount, currency: p.currency, challenge: p.challenge.toString('base64') },
      ca,
      cert,
      key,
      timeoutMs: this.o.timeoutMs ?? 5000,
      schema: loadAuthorizationSchema,
    }).catch((e: unknown) => {
      if (!(e instanceof PeerError)) throw e;
      if (e.kind === 'timeout') throw new ApiError(504, 'issuer-timeout', `The issuer did not answer in time: ${e.message}`);
      if (e.kind === 'too-large' || e.kind === 'bad-answer') throw new ApiError(502, 'issuer-bad-answer', `The issuer's answer is unusable: ${e.message}`);
      throw e.kind === 'unreachable'
        ? new ApiError(502, 'issuer-unreachable', `The issuer does not answer: ${e.message}`)
        : new ApiError(409, 'issuer-refused', `The issuer refused the top-up: ${e.message}`, { issuerCode: e.peerCode ?? null });
    });
    return { authorization: Buffer.from(r.authorization, 'base64'), signature: Buffer.from(r.signature, 'base64') };
  }
}
