/**
 * Personalizing a factory-fresh home card for a real household
 * (`homegate provision card`), so that it can be interrupted anywhere (card
 * pulled, process killed) and finished by running it again.
 *
 * Every step is either idempotent or skipped when the card shows it done
 * (GET DATA, PROTOCOL.md), and the card writes each command atomically
 * (its image, or an element's EEPROM transaction), so a stopped run leaves a
 * card that is some prefix of the steps and still in personalization:
 *
 *   admin-auth    mutual authentication with the admin key (every run)
 *   key-pair      GENERATE KEY PAIR only when DF04 is absent: a key that may
 *                 already have a certificate on its way is never replaced
 *   certificate   skipped when 7F21 certifies the card's key; else a CSR the
 *                 card signs, certified by the issuer, or written out for a
 *                 file round trip (the run then stops: `awaiting-certificate`)
 *   pins          PIN1, PIN2, PUK set again (setting is idempotent)
 *   anchors       only the market anchors DF06 does not list
 *   purse         issuer key and limits when the purse is not set up yet
 *   lock          ACTIVATE: operational; a card already operational ends the
 *                 run at once (`already-personalized`) and nothing is sent
 *
 * The PIN rules are checked before the card is touched (household-pins.ts).
 */
import { createHash, X509Certificate } from 'node:crypto';
import { CardError, CardErrorCode } from '../card-io/errors.js';
import { absentAsUndefined } from '../card-io/home-card/card-info.js';
import type { HomeCard, PurseSetup } from '../card-io/home-card/home-card.js';
import { createCardCsr } from './card-csr.js';
import { checkHouseholdPins } from './household-pins.js';
import type { CardPins } from './personalize-card.js';
import { certifyCardKey, spkiDer, type IssuingCa } from './pki/index.js';
import { publicKeyFromCsr } from './terminal-issuer.js';

export const PROVISION_STEPS = ['admin-auth', 'key-pair', 'certificate', 'pins', 'anchors', 'purse', 'lock'] as const;
export type ProvisionStep = (typeof PROVISION_STEPS)[number];
export type StepOutcome = 'start' | 'done' | 'skipped';

/** Where the card's certificate comes from. */
export type CertificateSource =
  /** An issuer CA at hand (the sandbox issuer): it certifies the card's CSR at once. */
  | { kind: 'issuer'; issuer: IssuingCa }
  /** A file round trip: the CSR is handed out (`csr`); a later run brings the certificate (`certificate`, DER). */
  | { kind: 'round-trip'; certificate?: Buffer; csr(der: Buffer): Promise<void> };

export interface ProvisionCardOptions {
  card: HomeCard;
  adminKey: Buffer;
  pins: CardPins;
  /** Subject of the card certificate, e.g. "CN=Home card 0123abcd,O=Household". */
  subject(cardId: string): string;
  certificate: CertificateSource;
  /** Market trust anchors (DER CA certificates). */
  anchors?: readonly Buffer[];
  purse?: PurseSetup;
  /** Card certificate lifetime end; default 5 years from now. */
  notAfter?: Date;
  progress?(step: ProvisionStep, outcome: StepOutcome): void;
}

export type ProvisionCardResult = { status: 'personalized' | 'already-personalized'; cardId: string } | { status: 'awaiting-certificate'; cardId: string };

const YEAR_MS = 365 * 24 * 3600 * 1000;

function certifiesKey(certificate: Buffer | undefined, spki: Buffer): boolean {
  if (certificate === undefined) return false;
  return new X509Certificate(certificate).publicKey.export({ type: 'spki', format: 'der' }).equals(spki);
}

export async function provisionCard(o: ProvisionCardOptions): Promise<ProvisionCardResult> {
  checkHouseholdPins(o.pins);
  const { card } = o;
  const step = async (name: ProvisionStep, run: () => Promise<boolean | undefined>) => {
    o.progress?.(name, 'start');
    const did = await run();
    o.progress?.(name, did === false ? 'skipped' : 'done');
  };

  const selected = await card.select();
  const cardId = selected.cardId;
  if (selected.lifeCycle === 'operational') {
    for (const s of PROVISION_STEPS) o.progress?.(s, 'skipped');
    return { status: 'already-personalized', cardId };
  }

  await step('admin-auth', async () => card.authenticateAdmin(Buffer.from(o.adminKey)).then(() => true));

  let spki: Buffer | undefined;
  await step('key-pair', async () => {
    const present = (await card.info()).publicKey;
    if (present) {
      spki = spkiDer(present);
      return false;
    }
    spki = spkiDer(await card.generateKeyPair());
    return true;
  });

  let waiting = false;
  await step('certificate', async () => {
    const current = (await card.info()).certificate;
    if (certifiesKey(current, spki!)) return false;
    const source = o.certificate;
    let certificate: Buffer;
    if (source.kind === 'round-trip' && source.certificate !== undefined) {
      certificate = source.certificate;
      if (!certifiesKey(certificate, spki!)) {
        throw new CardError(CardErrorCode.InvalidCertificate, "The imported certificate is not for this card's key; was it issued for another card's request?");
      }
    } else {
      const csr = await createCardCsr(o.subject(cardId), spki!, (digest) => card.sign(digest));
      if (source.kind === 'round-trip') {
        await source.csr(csr);
        waiting = true;
        return true;
      }
      const key = await publicKeyFromCsr(csr); // the card's signature over its request verifies
      const notAfter = o.notAfter ?? new Date(Date.now() + 5 * YEAR_MS);
      certificate = await certifyCardKey({ subject: o.subject(cardId), cardPublicKey: spkiDer(key), issuer: source.issuer, notAfter });
    }
    await card.putCertificate(certificate);
    return true;
  });
  if (waiting) {
    await card.select(); // ends the admin session
    return { status: 'awaiting-certificate', cardId };
  }

  await step('pins', async () => card.setPins(o.pins).then(() => true));

  await step('anchors', async () => {
    const present = new Set(await card.listTrustAnchors());
    const missing = (o.anchors ?? []).filter((a) => !present.has(createHash('sha256').update(a).digest('hex')));
    for (const a of missing) await card.addTrustAnchor(a);
    return missing.length > 0;
  });

  await step('purse', async () => {
    if (o.purse === undefined) return false;
    if ((await absentAsUndefined(() => card.purseStatus())) !== undefined) return false;
    await card.setupPurse(o.purse);
    return true;
  });

  await step('lock', async () => card.activate().then(() => true));
  // A fresh SELECT ends the admin session: nothing after this runs with admin rights.
  await card.select();
  return { status: 'personalized', cardId };
}
