/**
 * What the terminal believes of a mail (claim 4, terminal side): only what the
 * home card signed. Anyone who can publish to the broker (a misconfigured
 * ACL, a compromised broker account) could otherwise forge a payment notice,
 * or send a message with a real mail's id first so that the real one is
 * dropped as a duplicate.
 *
 * A mail is accepted only when
 *  1. its `signedRecord` (PROTOCOL.md "Records": `E1 { record } ‖ DF5E`, or
 *     LOAD's `E2 { receipt } ‖ DF5E`) verifies with the key of the card
 *     certificate this terminal pinned at enrollment (never the certificate
 *     the mail itself carries);
 *  2. every visible field equals the signed one: id (`<cardId>:<type>:<seq>`, a
 *     cancel's copy to the payer `<cardId>:cancel:<seq>:payer`),
 *     record / load fields, the decision time, and a cancel's record says
 *     `cancelled` (a decision re-mailed after reconciliation may, too);
 *  3. it is addressed to this terminal.
 * The accepted notification is rebuilt from the checked fields; of the
 * unsigned ones only the recipient address and the card certificate (when it
 * is the pinned one) are passed on, never e.g. a decision's `balance`, which
 * the card did not sign. Its dedupe key is the verified (cardId, type, seq).
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { parseSignedRecord, verifySignedRecord, type SignedRecord } from '../home-card/decision-record.js';
import { parseLoadReceipt, verifyLoadReceipt, type LoadReceipt } from '../home-card/load-receipt.js';

export type MailRejection =
  /** No signedRecord, or not base64 of a signed record / load receipt. */
  | 'unsigned'
  /** The signature does not verify with the pinned card certificate. */
  | 'bad-signature'
  /** A visible field differs from the signed one, or the mail is addressed to another terminal. */
  | 'mismatch';

export interface VerifiedMail {
  /** `<cardId>:<type>:<seq>` from the signed bytes: the dedupe key. */
  id: string;
  type: 'decision' | 'cancel' | 'topup';
  /** The notification, rebuilt from the verified fields. */
  notification: Record<string, unknown>;
}

/** The public key of the pinned card certificate (DER or PEM). */
export function cardKeyOf(certificate: Uint8Array | string): KeyObject {
  return new X509Certificate(typeof certificate === 'string' ? certificate : Buffer.from(certificate)).publicKey;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export function verifyMail(value: unknown, cardKey: KeyObject, terminalId: string): VerifiedMail | MailRejection {
  const v = verifySigned(value, cardKey, terminalId);
  if (typeof v === 'string') return v;
  const n = value as Obj;
  const extras: Obj = {};
  if (typeof n.mail === 'string') extras.mail = n.mail;
  if (typeof n.cardCertificate === 'string' && sameKey(n.cardCertificate, cardKey)) extras.cardCertificate = n.cardCertificate;
  return { ...v, notification: { ...v.notification, ...extras } };
}

function sameKey(certificateBase64: string, cardKey: KeyObject): boolean {
  try {
    return cardKeyOf(Buffer.from(certificateBase64, 'base64')).equals(cardKey);
  } catch {
    return false;
  }
}

function verifySigned(value: unknown, cardKey: KeyObject, terminalId: string): VerifiedMail | MailRejection {
  if (!isObj(value) || typeof value.signedRecord !== 'string' || !BASE64.test(value.signedRecord)) return 'unsigned';
  const bytes = Buffer.from(value.signedRecord, 'base64');
  const type = value.type;
  if (type === 'decision' || type === 'cancel') {
    let signed: SignedRecord;
    try {
      signed = parseSignedRecord(bytes);
    } catch {
      return 'unsigned';
    }
    if (!verifySignedRecord(signed, cardKey)) return 'bad-signature';
    return checkRecord(value, type, signed, terminalId);
  }
  if (type === 'topup') {
    let receipt: LoadReceipt;
    try {
      receipt = parseLoadReceipt(bytes);
    } catch {
      return 'unsigned';
    }
    if (!verifyLoadReceipt(receipt, cardKey)) return 'bad-signature';
    return checkLoad(value, receipt, terminalId);
  }
  return 'unsigned';
}

function sameAmount(shown: unknown, signed: number | bigint): boolean {
  return typeof shown === 'number' && Number.isSafeInteger(shown) && BigInt(shown) === BigInt(signed);
}

function checkRecord(n: Obj, type: 'decision' | 'cancel', s: SignedRecord, terminalId: string): VerifiedMail | MailRejection {
  const r = n.record;
  const signedId = `${s.cardId}:${type}:${s.seq}`;
  // A cancel is mailed to the canceller and, as a copy with the suffix `:payer`, to the terminal that paid.
  const id = type === 'cancel' && n.id === `${signedId}:payer` ? n.id : signedId;
  const time = s.time.toISOString();
  const ok =
    isObj(r) &&
    n.id === id &&
    n.terminalId === terminalId &&
    r.seq === s.seq &&
    r.cardId === s.cardId &&
    r.market === s.market &&
    r.orderId === s.orderId &&
    sameAmount(r.amount, s.amount) &&
    r.currency === s.currency &&
    r.status === s.status &&
    (type === 'decision' || s.status === 'cancelled') &&
    typeof r.time === 'string' &&
    Date.parse(r.time) === s.time.getTime() &&
    typeof n.time === 'string' &&
    Date.parse(n.time) === s.time.getTime();
  if (!ok) return 'mismatch';
  const record = { seq: s.seq, cardId: s.cardId, market: s.market, orderId: s.orderId, amount: Number(s.amount), currency: s.currency, time, status: s.status };
  return { id, type, notification: { id, type, terminalId, time, record, signedRecord: n.signedRecord } };
}

function checkLoad(n: Obj, s: LoadReceipt, terminalId: string): VerifiedMail | MailRejection {
  const l = n.load;
  const id = `${s.cardId}:topup:${s.counter}`;
  const ok =
    isObj(l) &&
    n.id === id &&
    n.terminalId === terminalId &&
    l.cardId === s.cardId &&
    l.counter === s.counter &&
    sameAmount(l.amount, s.amount) &&
    l.currency === s.currency &&
    sameAmount(l.newBalance, s.balance) &&
    (n.balance === undefined || sameAmount(n.balance, s.balance));
  if (!ok) return 'mismatch';
  const load = { cardId: s.cardId, counter: s.counter, amount: Number(s.amount), currency: s.currency, newBalance: Number(s.balance) };
  // The card does not sign the time of a load; it is shown as the gateway stated it.
  const time = typeof n.time === 'string' && !Number.isNaN(Date.parse(n.time)) ? n.time : undefined;
  return {
    id,
    type: 'topup',
    notification: { id, type: 'topup', terminalId, ...(time ? { time } : {}), load, balance: load.newBalance, signedRecord: n.signedRecord },
  };
}
