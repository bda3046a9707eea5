/**
 * SELECT (ISO/IEC 7816-4 §11.2.2) and GET DATA (§11.4.3): what anyone may read.
 * SELECT by AID returns the FCI and starts a new card session.
 */
import { SW } from '../apdu/status-words.js';
import type { CommandApdu } from '../apdu/command-apdu.js';
import { encodeTlv, encodeTlvs } from '../apdu/tlv.js';
import { ok, p1p2, status, type AppletContext, type Reply } from './applet-context.js';
import { APPLET_VERSION, getCounter, HOME_CARD_AID, newSession, type CardState } from './card-state.js';
import { sha256 } from './certificate-chain.js';
import { purseDataObject, PurseDataTag } from './purse-read.js';

export const Tag = {
  CardId: 0xdf01,
  Version: 0xdf02,
  RetryCounters: 0xdf03,
  PublicKey: 0xdf04,
  LifeCycle: 0xdf05,
  TrustAnchors: 0xdf06,
  CardCertificate: 0x7f21,
  SetPin1: 0xdf11,
  SetPin2: 0xdf12,
  SetPuk: 0xdf13,
  AddAnchor: 0xdf20,
  RemoveAnchor: 0xdf21,
  PurseStatus: PurseDataTag.Status,
  PurseLog: PurseDataTag.Log,
  IssuerKey: PurseDataTag.IssuerKey,
  PurseParameters: PurseDataTag.Parameters,
  InitialBalance: PurseDataTag.InitialBalance,
} as const;

/** SELECT: 00 A4 04 00, the home card AID. */
export function select(cmd: CommandApdu, ctx: AppletContext): Reply {
  if (p1p2(cmd) !== 0x0400) return status(SW.INCORRECT_P1P2);
  if (!cmd.data.equals(HOME_CARD_AID)) return status(SW.FILE_NOT_FOUND);
  Object.assign(ctx.session, newSession());
  const s = ctx.state;
  const fci = encodeTlvs([
    [0x84, HOME_CARD_AID],
    [Tag.CardId, s.cardId],
    [Tag.Version, APPLET_VERSION],
    [Tag.LifeCycle, Buffer.from([s.lifeCycle])],
  ]);
  return ok(encodeTlv(0x6f, fci));
}

function retryCounters(s: CardState): Buffer {
  return Buffer.from(
    (['pin1', 'pin2', 'puk', 'admin'] as const).flatMap((ref) => {
      const c = getCounter(s, ref);
      return [c.left, c.max];
    }),
  );
}

/** The value of a GET DATA tag; undefined when unknown or absent. */
function dataObject(s: CardState, tag: number): Buffer | undefined {
  switch (tag) {
    case Tag.CardId:
      return s.cardId;
    case Tag.Version:
      return APPLET_VERSION;
    case Tag.RetryCounters:
      return retryCounters(s);
    case Tag.PublicKey:
      return s.keyPair?.publicKeySpki;
    case Tag.LifeCycle:
      return Buffer.from([s.lifeCycle]);
    case Tag.TrustAnchors:
      // An empty list is a present (empty) value, not an absent one.
      return Buffer.concat(s.anchors.map(sha256));
    case Tag.CardCertificate:
      return s.certificate ?? undefined;
    default:
      return purseDataObject(s, tag);
  }
}

/** GET DATA: 00 CA, P1 P2 = tag. */
export function getData(cmd: CommandApdu, ctx: AppletContext): Reply {
  if (cmd.data.length !== 0) return status(SW.WRONG_LENGTH);
  const value = dataObject(ctx.state, p1p2(cmd));
  return value === undefined ? status(SW.REFERENCED_DATA_NOT_FOUND) : ok(Buffer.from(value));
}
