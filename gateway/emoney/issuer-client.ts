/**
 * The e-money managing facility's channel to the issuer (claim 6): mutual
 * TLS with the household's credential, a certificate the issuer registered
 * for this household. A load is two-phase (PAYMENTS.md, "Issuer"): the
 * issuer reserves the amount and answers an authorization bound to the
 * card's challenge; the card's signed load receipt commits it; a void
 * releases it.
 */
import { readFile } from 'node:fs/promises';
import { EmoneyError } from './emoney-error.js';
import { httpsJson, PeerError } from './https-json.js';
import type { ZodType } from 'zod';
import { loadReservationSchema } from './peer-answers.js';
import { readSecretFile } from '../../card-io/base/durable/secret-file.js';

export interface IssuerClientOptions {
  url: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  timeoutMs?: number;
}

export interface LoadReservation {
  /** The issuer's reservation id, journaled with the load intent. */
  id: string;
  authorization: Buffer;
  signature: Buffer;
}

export class IssuerClient {
  private files: Promise<[Buffer, Buffer, Buffer]> | undefined;

  constructor(private readonly o: IssuerClientOptions) {}

  private async call<T>(method: 'GET' | 'POST', path: string, body?: unknown, schema?: ZodType<T>): Promise<T> {
    this.files ??= Promise.all([readFile(this.o.caFile), readFile(this.o.certFile), readSecretFile(this.o.keyFile)]);
    const [ca, cert, key] = await this.files;
    return httpsJson<T>({
      url: new URL(path, this.o.url).href,
      method,
      ...(body === undefined ? {} : { body }),
      ca,
      cert,
      key,
      timeoutMs: this.o.timeoutMs ?? 5000,
      ...(schema ? { schema } : {}),
    });
  }

  /** Reserve a load: funds held at the issuer, not debited, until commit, void or expiry. */
  async requestLoad(p: { cardId: string; amount: number; currency: string; challenge: Buffer }): Promise<LoadReservation> {
    const r = await this.call(
      'POST',
      '/v1/loads',
      {
        cardId: p.cardId,
        amount: p.amount,
        currency: p.currency,
        challenge: p.challenge.toString('base64'),
      },
      loadReservationSchema,
    ).catch((e: unknown) => {
      if (!(e instanceof PeerError)) throw e;
      if (e.kind === 'timeout') throw new EmoneyError('issuer-timeout', `The issuer did not answer in time: ${e.message}`);
      if (e.kind === 'too-large' || e.kind === 'bad-answer') throw new EmoneyError('issuer-bad-answer', `The issuer's answer is unusable: ${e.message}`);
      throw e.kind === 'unreachable'
        ? new EmoneyError('issuer-unreachable', `The issuer does not answer: ${e.message}`)
        : new EmoneyError('issuer-refused', `The issuer refused the top-up: ${e.message}`, { issuerCode: e.peerCode ?? null });
    });
    return { id: r.id, authorization: Buffer.from(r.authorization, 'base64'), signature: Buffer.from(r.signature, 'base64') };
  }

  /** Debit a reservation on the card's signed load receipt. Idempotent at the issuer. Throws PeerError. */
  async commitLoad(id: string, receipt: Buffer, cardCertificate: Buffer): Promise<void> {
    await this.call('POST', `/v1/loads/${encodeURIComponent(id)}/commit`, {
      receipt: receipt.toString('base64'),
      cardCertificate: cardCertificate.toString('base64'),
    });
  }

  /** Release a reservation whose load is not on the card. Idempotent at the issuer. Throws PeerError. */
  async voidLoad(id: string): Promise<void> {
    await this.call('POST', `/v1/loads/${encodeURIComponent(id)}/void`, {});
  }
}
