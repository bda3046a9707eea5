/**
 * Purse test fixtures: a reference card (applet over a card image file, or a
 * memory store with its fault switch) driven through the real HomeCard API,
 * personalized by provisioning's personalizeCard with a purse; the market's
 * PKI (root on the card → issuing CA → server leaf, plus a signing
 * certificate issued directly by the root for cancel authorizations); and
 * the issuer's load-signing key.
 */
import { createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { createHomeCardApplet } from '../../card-io/emulator/applet.js';
import { createCardImage, loadCardImage } from '../../card-io/emulator/card-image.js';
import { factoryFreshState } from '../../card-io/emulator/card-state.js';
import { createMemoryCardStore, type CardStore, type MemoryCardStore } from '../../card-io/emulator/card-store.js';
import {
  HomeCard,
  encodeCancelAuthorization,
  encodeLoadAuthorization,
  signAuthorization,
  type CancelRequest,
  type LoadRequest,
  type MinorUnits,
  type PurseSetup,
  type SignedRecord,
} from '../../card-io/home-card/index.js';
import { personalizeCard } from '../../provisioning/personalize-card.js';
import { createServerCertificate, generateP256KeyPair, type IssuingCa } from '../../provisioning/pki/index.js';
import { makeIssuer } from './emulator-helpers.js';
import { makeMarketPki, newCa, type MarketPki } from './emulator-pki-fixtures.js';

export const PINS = { pin1: '1234', pin2: '567890', puk: '12345678' };
export const MARKET = 'shop.example';
export const CURRENCY = 'EUR';
export const LIMITS = { maxBalance: 100_000, perPaymentLimit: 5_000, dailyLimit: 12_000 };
export const INITIAL_BALANCE = 20_000;
export const DAY = 86_400;
/** Tomorrow 00:00 UTC, in Unix seconds: every time the tests use lies within the certificates' validity. */
export const DAY0 = (Math.floor(Date.now() / 1000 / DAY) + 1) * DAY;

export interface MarketSigner {
  certificate: Buffer;
  privateKey: KeyObject;
}

export interface PurseFixture {
  card: HomeCard;
  store: CardStore;
  /** The image file when the card keeps its state on disk. */
  imagePath: string | undefined;
  cardId: string;
  cardKey: KeyObject;
  market: MarketPki;
  /** Signs cancel authorizations; issued directly by the market root (a trust anchor on the card). */
  signer: MarketSigner;
  issuerLoadKey: KeyObject;
}

export interface PurseFixtureOptions {
  /** 'file' (default) keeps the state in a card image file; 'memory' in a MemoryCardStore. */
  storage?: 'file' | 'memory';
  /** Overrides of the default purse; null personalizes without a purse. */
  purse?: Partial<PurseSetup> | null;
}

function homeCard(store: CardStore): HomeCard {
  const applet = createHomeCardApplet({ store });
  return new HomeCard({ transport: { transmit: (apdu) => applet.process(apdu) } });
}

export async function signerIssuedBy(ca: IssuingCa, dnsNames = [MARKET]): Promise<MarketSigner> {
  const { privateKey, publicKey } = generateP256KeyPair();
  const certificate = await createServerCertificate({ subject: `CN=${dnsNames[0]} signing`, subjectPublicKey: publicKey, issuer: ca, dnsNames });
  return { certificate, privateKey };
}

/** A personalized, operational card with a purse, freshly selected. */
export async function purseFixture(t: ExecutionContext, opts: PurseFixtureOptions = {}): Promise<PurseFixture> {
  let store: CardStore;
  let imagePath: string | undefined;
  let adminKey: Buffer;
  if (opts.storage === 'memory') {
    adminKey = randomBytes(32);
    store = createMemoryCardStore(factoryFreshState(randomBytes(8), Buffer.from(adminKey)));
  } else {
    const dir = await mkdtemp(join(tmpdir(), 'hg-purse-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    imagePath = join(dir, 'card.img');
    const created = await createCardImage(imagePath);
    ({ adminKey } = created);
    store = created.image;
  }
  const card = homeCard(store);
  const market = await makeMarketPki();
  const issuerLoadKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const purse: PurseSetup = {
    issuerLoadKey: createPublicKey(issuerLoadKey).export({ type: 'spki', format: 'der' }),
    currency: CURRENCY,
    ...LIMITS,
    initialBalance: INITIAL_BALANCE,
    ...opts.purse,
  };
  const anchors = [Buffer.from(market.root.certificate)];
  const withPurse = opts.purse === null ? {} : { purse };
  await personalizeCard({ card, adminKey, issuer: await makeIssuer(), subject: 'CN=Purse card', pins: PINS, anchors, ...withPurse });
  const info = await card.info();
  return {
    card,
    store,
    imagePath,
    cardId: info.cardId,
    cardKey: info.publicKey!,
    market,
    signer: await signerIssuedBy(market.root),
    issuerLoadKey,
  };
}

/** The same card after a power cycle with its state read back from the image file. */
export async function reloadFromDisk(fx: PurseFixture): Promise<HomeCard> {
  const card = homeCard(await loadCardImage(fx.imagePath!));
  await card.select();
  return card;
}

export function imageBytes(fx: PurseFixture): Promise<Buffer> {
  return readFile(fx.imagePath!);
}

/** PIN2 release plus VERIFY CERTIFICATE of the market at `time` (PIN1 must be verified). */
export async function releaseForMarket(fx: PurseFixture, time: number): Promise<void> {
  await fx.card.verifyPin2(PINS.pin2);
  await fx.card.verifyCertificateChain([fx.market.leaf, Buffer.from(fx.market.intermediate.certificate)], new Date(time * 1000));
}

/** Release, verify the market and PAY. PIN1 must be verified. */
export async function payAt(fx: PurseFixture, amount: MinorUnits, time: number, orderId = `order-${time}-${amount}`): Promise<SignedRecord> {
  await releaseForMarket(fx, time);
  return fx.card.pay({ orderId, amount, agreedAmount: amount, currency: CURRENCY, time: new Date(time * 1000) });
}

export interface CancelOverrides {
  seq?: number;
  amount?: MinorUnits;
  /** Sign with this key instead of the signer's. */
  signingKey?: KeyObject;
  certificate?: Buffer;
}

/** The market's signed cancel authorization for `record`, with fields overridden as given. */
export function cancelRequest(fx: PurseFixture, record: SignedRecord, over: CancelOverrides = {}): CancelRequest {
  const authorization = encodeCancelAuthorization({
    cardId: record.cardId,
    seq: over.seq ?? record.seq,
    orderId: record.orderId,
    amount: over.amount ?? record.amount,
    currency: record.currency,
  });
  return {
    authorization,
    signature: signAuthorization(authorization, over.signingKey ?? fx.signer.privateKey),
    certificate: over.certificate ?? fx.signer.certificate,
  };
}

/** The issuer's load authorization for `amount` bound to `challenge`. */
export function loadRequest(fx: PurseFixture, amount: MinorUnits, challenge: Buffer, key: KeyObject = fx.issuerLoadKey): LoadRequest {
  const authorization = { cardId: fx.cardId, amount, currency: CURRENCY, challenge };
  const bytes = encodeLoadAuthorization(authorization);
  return { authorization: bytes, signature: signAuthorization(bytes, key) };
}

/** A second market root that is NOT on the card. */
export async function foreignCa(): Promise<IssuingCa> {
  return newCa('CN=Foreign Root CA, O=Elsewhere');
}

export function memoryStore(fx: PurseFixture): MemoryCardStore {
  return fx.store as MemoryCardStore;
}
