/**
 * The home-card driver: the typed API every layer above card-io uses. Each
 * method runs one entry of the command map (commands/index.ts): build the
 * APDU, send it through the card channel (queue, transport, logging), parse
 * the answer; it never hands out raw APDU bytes. Errors are CardErrors (status words: status-error.ts).
 */
import { randomBytes, type KeyObject } from 'node:crypto';
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

const cmd = c.homeCardCommands;

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
    return this.run(cmd.select);
  }

  /** Everything GET DATA tells about the card; an absent certificate or key is undefined. */
  async info(): Promise<CardInfo> {
    const cardId = await this.run(cmd.cardId);
    const version = await this.run(cmd.version);
    const lifeCycle = await this.run(cmd.lifeCycle);
    const retryCounters = await this.run(cmd.retryCounters);
    const publicKey = await absentAsUndefined(() => this.run(cmd.publicKey));
    const certificate = await absentAsUndefined(() => this.run(cmd.certificate));
    const certificateSubject = subjectOf(certificate);
    return { cardId, version, lifeCycle, retryCounters, certificate, certificateSubject, publicKey };
  }

  async verifyPin1(pin: string): Promise<void> {
    await this.run(cmd.verifyPin, 'PIN1', pin);
  }

  /** Releases the card for exactly one security operation (needs PIN1 first). */
  async verifyPin2(pin: string): Promise<void> {
    await this.run(cmd.verifyPin, 'PIN2', pin);
  }

  /**
   * Asks without spending a try. Tries left come from 63Cx, or from DF03 when
   * verified. The card still refuses in personalization (ConditionsNotSatisfied).
   */
  async pinStatus(which: PinId): Promise<PinStatus> {
    const answer = await this.run(cmd.pinStatus, which);
    if (answer.triesLeft !== undefined) return { ...answer, triesLeft: answer.triesLeft };
    const counters = await this.run(cmd.retryCounters);
    const counter = which === 'PIN1' ? counters.pin1 : counters.pin2;
    return { verified: answer.verified, triesLeft: counter.left, blocked: answer.blocked };
  }

  /** DF03: tries left and maximum of PIN1, PIN2, the PUK and the admin key; never costs a try. */
  async retryCounters(): Promise<c.RetryCounters> {
    return this.run(cmd.retryCounters);
  }

  /** Forget that this PIN was verified in this session. */
  async resetPinState(which: PinId): Promise<void> {
    await this.run(cmd.resetPinState, which);
  }

  async changePin(which: PinId, oldPin: string, newPin: string): Promise<void> {
    await this.run(cmd.changeReferenceData, which, oldPin, newPin);
  }

  /** Set a new PIN with the PUK; restores the PIN's and the PUK's counters. */
  async unblockPin(which: PinId, puk: string, newPin: string): Promise<void> {
    await this.run(cmd.resetRetryCounter, which, puk, newPin);
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
      const rc = await this.run(cmd.getChallenge);
      const rh = randomBytes(c.HOST_CHALLENGE_LENGTH);
      const received = await this.run(cmd.externalAuthenticate, rh, hostCryptogram(key, rc, rh));
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
    return this.run(cmd.generateKeyPair);
  }

  async putCertificate(certificateDer: Buffer): Promise<void> {
    await this.run(cmd.putCertificate, certificateDer);
  }

  /** Sets PIN1, PIN2 and the PUK; all three are checked before any is sent. */
  async setPins(pins: NewPins): Promise<void> {
    validatePin('PIN1', pins.pin1);
    validatePin('PIN2', pins.pin2);
    validatePin('PUK', pins.puk);
    await this.run(cmd.putPin, 'PIN1', pins.pin1);
    await this.run(cmd.putPin, 'PIN2', pins.pin2);
    await this.run(cmd.putPin, 'PUK', pins.puk);
  }

  async addTrustAnchor(certificateDer: Buffer): Promise<void> {
    await this.run(cmd.addTrustAnchor, certificateDer);
  }

  /** Removes by SHA-256 fingerprint of the anchor's DER (64 hex digits); absent: NotFound. */
  async removeTrustAnchor(fingerprintHex: string): Promise<void> {
    await this.run(cmd.removeTrustAnchor, fingerprintHex);
  }

  /** The anchors' SHA-256 fingerprints as lower-case hex. */
  async listTrustAnchors(): Promise<string[]> {
    return this.run(cmd.trustAnchors);
  }

  async activate(): Promise<void> {
    await this.run(cmd.activate);
  }

  /** Chain leaf first, checked at `at`; returns the leaf's SHA-256 fingerprint (hex). */
  async verifyCertificateChain(chainDer: readonly Buffer[], at: Date): Promise<string> {
    return this.run(cmd.verifyCertificate, chainDer, at);
  }

  /** Signs a SHA-256 digest (32 bytes); uses up the release. Returns a DER ECDSA signature. */
  async sign(digest: Buffer): Promise<Buffer> {
    return this.run(cmd.computeSignature, digest);
  }

  /** Signs SHA-256(TBS) of a session certificate; uses up the release. Returns a DER signature. */
  async signSessionCertificate(tbsDer: Buffer): Promise<Buffer> {
    return this.run(cmd.signSessionCertificate, tbsDer);
  }

  /** Needs admin authentication; back to personalization, card id and admin key kept. */
  async factoryReset(): Promise<void> {
    await this.run(cmd.factoryReset);
  }

  /** Admin, personalization: issuer key, currency and limits, then the initial balance if given. */
  async setupPurse(p: PurseSetup): Promise<void> {
    await this.run(cmd.putIssuerKey, p.issuerLoadKey);
    await this.run(cmd.putPurseParameters, p);
    if (p.initialBalance !== undefined) await this.run(cmd.putInitialBalance, p.initialBalance);
  }

  /** Balance, limits and counter (amounts: number up to 2^53 − 1, bigint above); NotFound without a purse. */
  async purseStatus(): Promise<c.PurseStatus> {
    return this.run(cmd.purseStatus);
  }

  /** Needs the release and a verified market (VERIFY CERTIFICATE first); uses up the release. */
  async pay(p: c.PaymentRequest): Promise<SignedRecord> {
    return this.run(cmd.pay, p);
  }

  /** Needs PIN1 and the market's signed cancel authorization; answers the re-signed record. */
  async cancel(r: c.CancelRequest): Promise<SignedRecord> {
    return this.run(cmd.cancel, r);
  }

  /** Needs PIN1; the card-signed request to the market to cancel decision `seq` (paid, in the log). */
  async signCancelRequest(seq: number): Promise<SignedCancelRequest> {
    return this.run(cmd.signCancelRequest, seq);
  }

  /** Needs PIN1; the 16-byte challenge the issuer's load authorization must carry. */
  async loadChallenge(): Promise<Buffer> {
    return this.run(cmd.getLoadChallenge);
  }

  /** Needs PIN1 and the pending challenge (used up by any LOAD); answers the signed receipt. */
  async load(r: c.LoadRequest): Promise<LoadReceipt> {
    return this.run(cmd.load, r);
  }

  /** The signed receipt of the card's latest LOAD (GET DATA DF43), undefined before any; anyone may read it. */
  async lastLoadReceipt(): Promise<LoadReceipt | undefined> {
    return this.run(cmd.lastLoadReceipt);
  }

  /** Signed record `n`, 1 = newest; NotFound beyond the log. */
  async readRecord(n: number): Promise<SignedRecord> {
    return this.run(cmd.readRecord, n);
  }

  /** The seq numbers of the records on the card, newest first. */
  async logSeqs(): Promise<number[]> {
    return this.run(cmd.purseLog);
  }

  /**
   * Every command goes this way: build (argument errors are thrown before
   * anything is sent), one exchange through the channel, parse the answer.
   */
  private async run<A extends unknown[], R>(command: c.CardCommand<A, R>, ...args: A): Promise<R> {
    const response = await this.channel.exchange(command.name, command.build(...args));
    return command.parse(response, args);
  }
}
