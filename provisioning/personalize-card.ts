/**
 * Card personalization over the serial line (docs/ARCHITECTURE.md, folders):
 * the key pair is generated ON the card, the issuer CA certifies the card's
 * public key as a constrained CA (pathLength 0, so markets accept chains
 * ending in the card), PINs and PUK are set, trust anchors stored, and the
 * card is locked for use. With `purse`, the purse is set up before the
 * lock: the issuer's load-signing key, currency and limits, and an optional
 * starting balance (PROTOCOL.md, PUT DATA DF14/DF15/DF16). Every step needs
 * the admin key's mutual authentication; the key itself never goes over the line.
 */
import type { HomeCard, PurseSetup } from '../card-io/home-card/home-card.js';
import { certifyCardKey, spkiDer, type IssuingCa } from './pki/index.js';

export interface CardPins {
  pin1: string;
  pin2: string;
  puk: string;
}

export interface PersonalizeCardOptions {
  card: HomeCard;
  adminKey: Buffer;
  issuer: IssuingCa;
  /** Subject of the card certificate, e.g. "CN=Home card 0123abcd,O=Household". */
  subject: string;
  pins: CardPins;
  /** Market trust anchors (DER CA certificates). */
  anchors?: readonly Buffer[];
  /** Card certificate lifetime; default 5 years from now. */
  notAfter?: Date;
  /**
   * The purse: issuer load key (SPKI DER or KeyObject), currency, maximum
   * balance, per-payment and daily limits (minor units), optional initial
   * balance. Default: no purse (purse commands then answer 6985).
   */
  purse?: PurseSetup;
}

export async function personalizeCard(o: PersonalizeCardOptions): Promise<{ certificate: Buffer }> {
  await o.card.select();
  await o.card.authenticateAdmin(o.adminKey);
  const publicKey = await o.card.generateKeyPair();
  const notAfter = o.notAfter ?? new Date(Date.now() + 5 * 365 * 24 * 3600 * 1000);
  const certificate = await certifyCardKey({ subject: o.subject, cardPublicKey: spkiDer(publicKey), issuer: o.issuer, notAfter });
  await o.card.putCertificate(certificate);
  await o.card.setPins(o.pins);
  for (const anchor of o.anchors ?? []) await o.card.addTrustAnchor(anchor);
  if (o.purse !== undefined) await o.card.setupPurse(o.purse);
  await o.card.activate();
  // A fresh SELECT ends the admin session: nothing after this runs with admin rights.
  await o.card.select();
  return { certificate };
}
