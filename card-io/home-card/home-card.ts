/**
 * The home-card driver: the typed API every layer above card-io uses. It
 * builds commands (commands/*), sends them one at a time through the card
 * channel (queue, transport, logging), and parses the answers; it never hands
 * out raw APDU bytes. Errors are CardErrors (status words: status-error.ts).
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import type { CommandApdu, ResponseApdu } from '../apdu/index.js';
import { CardError, CardErrorCode } from '../errors.js';
import { silentLogger, type Logger } from '../base/log.js';
import type { ApduTransport } from '../t1/apdu-transport.js';
import { ADMIN_KEY_LENGTH, cardCryptogramMatches, expectedCardCryptogram, hostCryptogram } from './admin-auth.js';
import { CardChannel } from './card-channel.js';
import { absentAsUndefined, subjectOf } from './card-info.js';
import { requireBytes } from './commands/arguments.js';
import * as c from './commands/index.js';
import type { SignedRecord } from './decision-record.js';
import type { SignedCancelRequest } from './cancel-request.js';
import type { CardInfo, NewPins, PinStatus, PurseSetup } from './home-card-types.js';
import type { LoadReceipt } from './load-receipt.js';
import { validatePin, type PinId } from './pin-block.js';

export type { CardInfo, NewPins, PinStatus, PurseSetup } from './home-card-types.js';

export interface HomeCardOptions {
  transport: ApduTransport;
  /** Debug lines per command (name and SW only). Default: silent. */
  logger?: Logger;
  /** Per-command timeout in milliseconds, 1 to 600000, default 10000 (see CommandQueueOptions). */
  commandTimeoutMs?: number;
}

export class HomeCard {
  private readonly channel: CardChannel;

  constructor(options: HomeCardOptions) {
    this.channel = new CardChannel({
      transport: options.transport,
      logger: (options.logger ?? silentLogger).child({ channel: 'home-card' }),
      timeoutMs: options.commandTimeoutMs,
    });
  }

  /** SELECT the applet; starts a new card session (all verified states cleared). */
  async select(): Promise<c.SelectInfo> {
    return c.parseSelect(await this.send('select', c.buildSelect()));
  }

  /** Everything GET DATA tells about the card; an absent certificate or key is undefined. */
  async info(): Promise<CardInfo> {
    const cardId = c.parseCardId(await this.getData(c.DataTag.CardId));
    const version = c.parseVersion(await this.getData(c.DataTag.Version));
    const lifeCycle = c.parseLifeCycle(await this.getData(c.DataTag.LifeCycle));
    const retryCounters = c.parseRetryCounters(await this.getData(c.DataTag.RetryCounters));
    const publicKey = await absentAsUndefined(async () => c.parsePublicKey(await this.getData(c.DataTag.PublicKey)));
    const certificate = await absentAsUndefined(async () =>
      c.parseCertificate(await this.getData(c.DataTag.Certificate)),
    );
    const certificateSubject = subjectOf(certificate);
    return { cardId, version, lifeCycle, retryCounters, certificate, certificateSubject, publicKey };
  }

  async verifyPin1(pin: string): Promise<void> {
    await this.verifyPin('PIN1', pin);
  }

  /** Releases the card for exactly one security operation (needs PIN1 first). */
  async verifyPin2(pin: string): Promise<void> {
    await this.verifyPin('PIN2', pin);
  }

  /**
   * Asks without spending a try. Tries left come from 63Cx, or from DF03 when
   * verified. The card still refuses in personalization (ConditionsNotSatisfied).
   */
  async pinStatus(which: PinId): Promise<PinStatus> {
    const answer = c.parsePinStatusQuery(await this.send('pinStatus', c.buildPinStatusQuery(which)), which);
    if (answer.triesLeft !== undefined) return { ...answer, triesLeft: answer.triesLeft };
    const counters = c.parseRetryCounters(await this.getData(c.DataTag.RetryCounters));
    const counter = which === 'PIN1' ? counters.pin1 : counters.pin2;
    return { verified: answer.verified, triesLeft: counter.left, blocked: answer.blocked };
  }

  /** DF03: tries left and maximum of PIN1, PIN2, the PUK and the admin key; never costs a try. */
  async retryCounters(): Promise<c.RetryCounters> {
    return c.parseRetryCounters(await this.getData(c.DataTag.RetryCounters));
  }

  /** Forget that this PIN was verified in this session. */
  async resetPinState(which: PinId): Promise<void> {
    c.parseResetPinState(await this.send('resetPinState', c.buildResetPinState(which)), which);
  }

  async changePin(which: PinId, oldPin: string, newPin: string): Promise<void> {
    const apdu = c.buildChangeReferenceData(which, oldPin, newPin);
    c.parseChangeReferenceData(await this.send('changeReferenceData', apdu), which);
  }

  /** Set a new PIN with the PUK; restores the PIN's and the PUK's counters. */
  async unblockPin(which: PinId, puk: string, newPin: string): Promise<void> {
    const apdu = c.buildResetRetryCounter(which, puk, newPin);
    c.parseResetRetryCounter(await this.send('resetRetryCounter', apdu));
  }

  /**
   * Mutual challenge-response with the admin key (PROTOCOL.md). Throws
   * CardError(AdminAuthFailed) when the card's cryptogram is wrong: the card
   * did not prove it holds the key, so nothing more should be sent to it
   * (a SELECT ends whatever admin state the card may believe it has).
   */
  async authenticateAdmin(adminKey: Buffer): Promise<void> {
    const key = requireBytes(adminKey, 'admin key', { length: ADMIN_KEY_LENGTH });
    try {
      const rc = c.parseGetChallenge(await this.send('getChallenge', c.buildGetChallenge()));
      const rh = randomBytes(c.HOST_CHALLENGE_LENGTH);
      const apdu = c.buildExternalAuthenticate(rh, hostCryptogram(key, rc, rh));
      const received = c.parseExternalAuthenticate(await this.send('externalAuthenticate', apdu));
      if (!cardCryptogramMatches(expectedCardCryptogram(key, rh, rc), received)) {
        throw new CardError(CardErrorCode.AdminAuthFailed, 'The card did not prove it holds the admin key', {
          command: c.EXTERNAL_AUTHENTICATE,
        });
      }
    } finally {
      key.fill(0); // our copy; the caller's buffer is theirs to wipe
    }
  }

  /** Needs admin authentication in personalization; replaces the key and clears the certificate. */
  async generateKeyPair(): Promise<KeyObject> {
    return c.parseGenerateKeyPair(await this.send('generateKeyPair', c.buildGenerateKeyPair()));
  }

  async putCertificate(certificateDer: Buffer): Promise<void> {
    c.parsePutData(await this.send('putCertificate', c.buildPutCertificate(certificateDer)));
  }

  /** Sets PIN1, PIN2 and the PUK; all three are checked before any is sent. */
  async setPins(pins: NewPins): Promise<void> {
    validatePin('PIN1', pins.pin1);
    validatePin('PIN2', pins.pin2);
    validatePin('PUK', pins.puk);
    c.parsePutData(await this.send('putPin', c.buildPutPin('PIN1', pins.pin1)));
    c.parsePutData(await this.send('putPin', c.buildPutPin('PIN2', pins.pin2)));
    c.parsePutData(await this.send('putPin', c.buildPutPin('PUK', pins.puk)));
  }

  async addTrustAnchor(certificateDer: Buffer): Promise<void> {
    c.parsePutData(await this.send('addTrustAnchor', c.buildAddTrustAnchor(certificateDer)));
  }

  /** Removes by SHA-256 fingerprint of the anchor's DER (64 hex digits); absent: NotFound. */
  async removeTrustAnchor(fingerprintHex: string): Promise<void> {
    c.parsePutData(await this.send('removeTrustAnchor', c.buildRemoveTrustAnchor(fingerprintHex)));
  }

  /** The anchors' SHA-256 fingerprints as lower-case hex. */
  async listTrustAnchors(): Promise<string[]> {
    return c.parseTrustAnchors(await this.getData(c.DataTag.TrustAnchors));
  }

  async activate(): Promise<void> {
    c.parseActivate(await this.send('activate', c.buildActivate()));
  }

  /** Chain leaf first, checked at `at`; returns the leaf's SHA-256 fingerprint (hex). */
  async verifyCertificateChain(chainDer: readonly Buffer[], at: Date): Promise<string> {
    const apdu = c.buildVerifyCertificate(chainDer, at);
    return c.parseVerifyCertificate(await this.send('verifyCertificate', apdu));
  }

  /** Signs a SHA-256 digest (32 bytes); uses up the release. Returns a DER ECDSA signature. */
  async sign(digest: Buffer): Promise<Buffer> {
    return c.parseComputeSignature(await this.send('computeSignature', c.buildComputeSignature(digest)));
  }

  /** Signs SHA-256(TBS) of a session certificate; uses up the release. Returns a DER signature. */
  async signSessionCertificate(tbsDer: Buffer): Promise<Buffer> {
    const apdu = c.buildSignSessionCertificate(tbsDer);
    return c.parseSignSessionCertificate(await this.send('signSessionCertificate', apdu));
  }

  /** Needs admin authentication; back to personalization, card id and admin key kept. */
  async factoryReset(): Promise<void> {
    c.parseFactoryReset(await this.send('factoryReset', c.buildFactoryReset()));
  }

  /** Admin, personalization: issuer key, currency and limits, then the initial balance if given. */
  async setupPurse(p: PurseSetup): Promise<void> {
    c.parsePutData(await this.send('putIssuerKey', c.buildPutIssuerKey(p.issuerLoadKey)));
    c.parsePutData(await this.send('putPurseParameters', c.buildPutPurseParameters(p)));
    if (p.initialBalance !== undefined) {
      c.parsePutData(await this.send('putInitialBalance', c.buildPutInitialBalance(p.initialBalance)));
    }
  }

  /** Balance, limits and counter (amounts: number up to 2^53 − 1, bigint above); NotFound without a purse. */
  async purseStatus(): Promise<c.PurseStatus> {
    return c.parsePurseStatus(await this.send('purseStatus', c.buildPurseStatus()));
  }

  /** Needs the release and a verified market (VERIFY CERTIFICATE first); uses up the release. */
  async pay(p: c.PaymentRequest): Promise<SignedRecord> {
    return c.parsePay(await this.send('pay', c.buildPay(p)));
  }

  /** Needs PIN1 and the market's signed cancel authorization; answers the re-signed record. */
  async cancel(r: c.CancelRequest): Promise<SignedRecord> {
    return c.parseCancel(await this.send('cancel', c.buildCancel(r)));
  }

  /** Needs PIN1; the card-signed request to the market to cancel decision `seq` (paid, in the log). */
  async signCancelRequest(seq: number): Promise<SignedCancelRequest> {
    return c.parseSignCancelRequest(await this.send('signCancelRequest', c.buildSignCancelRequest(seq)));
  }

  /** Needs PIN1; the 16-byte challenge the issuer's load authorization must carry. */
  async loadChallenge(): Promise<Buffer> {
    return c.parseGetLoadChallenge(await this.send('getLoadChallenge', c.buildGetLoadChallenge()));
  }

  /** Needs PIN1 and the pending challenge (used up by any LOAD); answers the signed receipt. */
  async load(r: c.LoadRequest): Promise<LoadReceipt> {
    return c.parseLoad(await this.send('load', c.buildLoad(r)));
  }

  /** The signed receipt of the card's latest LOAD (GET DATA DF43), undefined before any; anyone may read it. */
  async lastLoadReceipt(): Promise<LoadReceipt | undefined> {
    return c.parseLastLoadReceipt(await this.send('lastLoadReceipt', c.buildLastLoadReceipt()));
  }

  /** Signed record `n`, 1 = newest; NotFound beyond the log. */
  async readRecord(n: number): Promise<SignedRecord> {
    return c.parseReadRecord(await this.send('readRecord', c.buildReadRecord(n)));
  }

  /** The seq numbers of the records on the card, newest first. */
  async logSeqs(): Promise<number[]> {
    return c.parsePurseLog(await this.send('purseLog', c.buildPurseLog()));
  }

  private async verifyPin(which: PinId, pin: string): Promise<void> {
    c.parseVerifyPin(await this.send('verifyPin', c.buildVerifyPin(which, pin)), which);
  }

  private send(command: c.HomeCardCommand, apdu: CommandApdu): Promise<ResponseApdu> {
    return this.channel.exchange(command, apdu);
  }

  private getData(tag: c.GetDataTag): Promise<ResponseApdu> {
    return this.send('getData', c.buildGetData(tag));
  }
}
