/**
 * The admin commands: GENERATE ASYMMETRIC KEY PAIR (ISO/IEC 7816-8 §5.1),
 * PUT DATA (ISO/IEC 7816-4 §11.4.6), ACTIVATE (ISO/IEC 7816-9 §6.3) and the
 * proprietary FACTORY RESET. All need admin authentication in this session
 * (`6982`). Key material and PINs can only be set in personalization; trust
 * anchors can be managed in any life cycle, so a household can add markets.
 * The purse is set up here too (purse-personalization.ts).
 *
 * The private key is generated here, committed to the image and used by the
 * signing commands; it is in no response and no log line.
 */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { SW } from '../apdu/status-words.js';
import type { CommandApdu } from '../apdu/command-apdu.js';
import { ok, p1p2, status, type AppletContext, type Reply } from './applet-context.js';
import { clearPin1, DEFAULT_TRIES, factoryResetState, LifeCycle, MAX_TRUST_ANCHORS, type PinRef } from './card-state.js';
import { sha256 } from './certificate-chain.js';
import { parseCertificate } from './certificate-parse.js';
import { Tag } from './data-commands.js';
import { putInitialBalance, putIssuerKey, putPurseParameters } from './purse-personalization.js';
import { makePinRecord, parsePinBlock, PIN_SALT_LENGTH } from './pin-block.js';

const FINGERPRINT_LENGTH = 32;

function needsAdmin(cmd: CommandApdu, ctx: AppletContext, expectedP1P2: number, noData: boolean): Reply | null {
  if (expectedP1P2 >= 0 && p1p2(cmd) !== expectedP1P2) return status(SW.INCORRECT_P1P2);
  if (noData ? cmd.data.length !== 0 : cmd.data.length === 0) return status(SW.WRONG_LENGTH);
  if (!ctx.session.adminAuthenticated) return status(SW.SECURITY_STATUS_NOT_SATISFIED);
  return null;
}

const inPersonalization = (ctx: AppletContext) => ctx.state.lifeCycle === LifeCycle.Personalization;

/** GENERATE ASYMMETRIC KEY PAIR: 00 47 80 00 → the new public key (SPKI DER). */
export async function generateKeyPair(cmd: CommandApdu, ctx: AppletContext): Promise<Reply> {
  const denied = needsAdmin(cmd, ctx, 0x8000, true);
  if (denied !== null) return denied;
  if (!inPersonalization(ctx)) return status(SW.CONDITIONS_NOT_SATISFIED);
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keyPair = {
    privateKeyPkcs8: privateKey.export({ type: 'pkcs8', format: 'der' }),
    publicKeySpki: publicKey.export({ type: 'spki', format: 'der' }),
  };
  await ctx.commit({ ...ctx.state, keyPair, certificate: null });
  ctx.logger.info('Card key pair generated');
  return ok(Buffer.from(keyPair.publicKeySpki));
}

async function putCardCertificate(data: Buffer, ctx: AppletContext): Promise<Reply> {
  const key = ctx.state.keyPair;
  if (!inPersonalization(ctx) || key === null) return status(SW.CONDITIONS_NOT_SATISFIED);
  const cert = parseCertificate(data);
  if (cert === null) return status(SW.WRONG_DATA);
  const cardKey = createPublicKey({ key: key.publicKeySpki, format: 'der', type: 'spki' });
  if (!cert.x509.publicKey.equals(cardKey)) return status(SW.WRONG_DATA);
  await ctx.commit({ ...ctx.state, certificate: Buffer.from(data) });
  return ok();
}

async function putPin(data: Buffer, ref: PinRef, ctx: AppletContext): Promise<Reply> {
  if (!inPersonalization(ctx)) return status(SW.CONDITIONS_NOT_SATISFIED);
  const digits = parsePinBlock(data, ref);
  if (digits === null) return status(SW.WRONG_DATA);
  await ctx.commit({ ...ctx.state, [ref]: makePinRecord(digits, ctx.random(PIN_SALT_LENGTH), DEFAULT_TRIES[ref]) });
  return ok();
}

async function addAnchor(data: Buffer, ctx: AppletContext): Promise<Reply> {
  const cert = parseCertificate(data);
  if (cert === null || cert.basicConstraints?.ca !== true) return status(SW.WRONG_DATA);
  const print = sha256(data);
  if (ctx.state.anchors.some((a) => sha256(a).equals(print))) return ok();
  if (ctx.state.anchors.length >= MAX_TRUST_ANCHORS) return status(SW.NOT_ENOUGH_MEMORY);
  await ctx.commit({ ...ctx.state, anchors: [...ctx.state.anchors, Buffer.from(data)] });
  return ok();
}

async function removeAnchor(data: Buffer, ctx: AppletContext): Promise<Reply> {
  if (data.length !== FINGERPRINT_LENGTH) return status(SW.WRONG_LENGTH);
  const anchors = ctx.state.anchors.filter((a) => !sha256(a).equals(data));
  if (anchors.length === ctx.state.anchors.length) return status(SW.REFERENCED_DATA_NOT_FOUND);
  await ctx.commit({ ...ctx.state, anchors });
  return ok();
}

/** PUT DATA: 00 DA, P1 P2 = tag, the value as data. */
export function putData(cmd: CommandApdu, ctx: AppletContext): Promise<Reply> | Reply {
  const denied = needsAdmin(cmd, ctx, -1, false);
  if (denied !== null) return denied;
  switch (p1p2(cmd)) {
    case Tag.CardCertificate:
      return putCardCertificate(cmd.data, ctx);
    case Tag.SetPin1:
      return putPin(cmd.data, 'pin1', ctx);
    case Tag.SetPin2:
      return putPin(cmd.data, 'pin2', ctx);
    case Tag.SetPuk:
      return putPin(cmd.data, 'puk', ctx);
    case Tag.AddAnchor:
      return addAnchor(cmd.data, ctx);
    case Tag.RemoveAnchor:
      return removeAnchor(cmd.data, ctx);
    case Tag.IssuerKey:
      return putIssuerKey(cmd.data, ctx);
    case Tag.PurseParameters:
      return putPurseParameters(cmd.data, ctx);
    case Tag.InitialBalance:
      return putInitialBalance(cmd.data, ctx);
    default:
      return status(SW.REFERENCED_DATA_NOT_FOUND);
  }
}

/** ACTIVATE: 00 44 00 00; personalization → operational once everything is set. */
export async function activate(cmd: CommandApdu, ctx: AppletContext): Promise<Reply> {
  const denied = needsAdmin(cmd, ctx, 0x0000, true);
  if (denied !== null) return denied;
  const s = ctx.state;
  const complete = s.keyPair && s.certificate && s.pin1 && s.pin2 && s.puk;
  if (!inPersonalization(ctx) || !complete) return status(SW.CONDITIONS_NOT_SATISFIED);
  await ctx.commit({ ...s, lifeCycle: LifeCycle.Operational });
  ctx.logger.info('Card activated');
  return ok();
}

/** FACTORY RESET: 80 FE 00 00; keeps only the card id and the admin key. */
export async function factoryReset(cmd: CommandApdu, ctx: AppletContext): Promise<Reply> {
  const denied = needsAdmin(cmd, ctx, 0x0000, true);
  if (denied !== null) return denied;
  await ctx.commit(factoryResetState(ctx.state));
  clearPin1(ctx.session);
  ctx.logger.warn('Card factory reset');
  return ok();
}
