/**
 * The sandbox's driver walkthrough: what the gateway will do with the home
 * card, step by step, against the emulator in its own process. Each step
 * prints one line; the run fails at the first step that does not behave.
 */
import { createHash, verify, X509Certificate } from 'node:crypto';
import { CardErrorCode, isCardError } from '../../card-io/errors.js';
import type { HomeCard } from '../../card-io/home-card/home-card.js';
import type { CardPins } from '../../provisioning/personalize-card.js';

export type StepReporter = (line: string) => void;

export async function runCardWalkthrough(card: HomeCard, pins: CardPins, say: StepReporter): Promise<void> {
  const info = await card.info();
  say(`card ${info.cardId}, applet ${info.version}, ${info.lifeCycle}, certificate "${info.certificateSubject ?? 'none'}"`);
  say(`retry counters: PIN1 ${info.retryCounters.pin1.left}/${info.retryCounters.pin1.max}, PIN2 ${info.retryCounters.pin2.left}/${info.retryCounters.pin2.max}, PUK ${info.retryCounters.puk.left}/${info.retryCounters.puk.max}`);
  if (!info.certificate) throw new Error('The card has no certificate');

  await expectRefusal(card.verifyPin2(pins.pin2), CardErrorCode.SecurityStatusNotSatisfied);
  say('PIN2 before PIN1 is refused without costing a try (claim 3)');

  await card.verifyPin1(pins.pin1);
  say('PIN1 opens the card session');
  await card.verifyPin2(pins.pin2);
  say('PIN2 releases one security operation');

  const message = Buffer.from(`homegate sandbox walkthrough ${new Date().toISOString()}`);
  const signature = await card.sign(createHash('sha256').update(message).digest());
  const cardKey = new X509Certificate(info.certificate).publicKey;
  if (!verify('sha256', message, cardKey, signature)) throw new Error('The card signature does not verify with the card certificate');
  say(`the card signed a digest; the signature verifies with the card certificate's key (${signature.length} bytes)`);

  await expectRefusal(card.sign(createHash('sha256').update('again').digest()), CardErrorCode.SecurityStatusNotSatisfied);
  say('a second signature without PIN2 is refused: one release, one operation');

  await card.resetPinState('PIN1');
  say('card session locked again');
}

async function expectRefusal(p: Promise<unknown>, code: number): Promise<void> {
  try {
    await p;
  } catch (e) {
    if (isCardError(e) && e.code === code) return;
    throw e;
  }
  throw new Error(`The card accepted an operation it must refuse (expected error ${code})`);
}
