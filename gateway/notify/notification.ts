/**
 * A notification: what the gateway "mails" to the terminal's owner for each
 * payment decision, cancel and top-up made with the home card (claim 4).
 *
 * The id is derived from the card event, never from the time of sending:
 * `<cardId>:<type>:<seq>` — the card id (DF57, hex), the event type and the
 * card's transaction counter (DF50) the event was made at (for a cancel, the
 * seq of the decision it cancels: the card refuses a second cancel, so that is
 * unique). The same event therefore always yields the same id, delivery is
 * at-least-once, and receivers drop duplicates by id.
 *
 * `signedRecord` is the card's evidence (PROTOCOL.md, "Purse", Records): for a
 * decision or a cancel the signed record `E1 { record } ‖ DF5E { signature }`,
 * for a top-up the signed load receipt `E2 { ... } ‖ DF5E { signature }`. A
 * receiver verifies DF5E (DER ECDSA over SHA-256 of the value of E1/E2) with
 * the public key of `cardCertificate` (DER). Both are base64.
 *
 * On the wire it is stable JSON (sorted keys), see `serializeNotification`.
 */
import { z } from 'zod';
import { NotifyError } from './notify-error.js';
import { stableJson, type JsonValue } from '../../card-io/base/stable-json.js';

export const NOTIFICATION_TYPES = ['decision', 'cancel', 'topup'] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

/** The fields of a decision record (PROTOCOL.md: DF50, DF57, DF51..DF56). */
export interface DecisionRecordFields {
  seq: number;
  /** DF57, 16 lower-case hex characters. */
  cardId: string;
  /** DF51: the market's dNSName. */
  market: string;
  /** DF52, 1..64 characters. */
  orderId: string;
  /** DF53, minor units. */
  amount: number;
  /** DF54, 3 ASCII capitals. */
  currency: string;
  /** DF55 as ISO 8601 UTC. */
  time: string;
  /** DF56. */
  status: 'paid' | 'cancelled';
}

/** The fields of a signed load receipt (PROTOCOL.md, LOAD: E2). */
export interface LoadFields {
  cardId: string;
  /** DF50: the transaction counter after the load. */
  counter: number;
  amount: number;
  currency: string;
  /** DF41: the balance after the load, minor units. */
  newBalance: number;
}

export interface Notification {
  /** `<cardId>:<type>:<seq>`; see `notificationId`. */
  id: string;
  type: NotificationType;
  /** The terminal that asked (registry id, 16 hex); its mail topic is `<prefix>/terminals/<terminalId>/mail`. */
  terminalId: string;
  /** The terminal owner's registered mail address (the SMTP recipient). */
  mail: string;
  /** When the card made the decision, cancel or load, ISO 8601 UTC. */
  time: string;
  record?: DecisionRecordFields;
  /** Base64 of the card's signed record (E1) or signed load receipt (E2). */
  signedRecord?: string;
  /** Base64 DER of the card certificate that verifies `signedRecord`. */
  cardCertificate?: string;
  load?: LoadFields;
  /** The purse balance after the event, minor units, when known. */
  balance?: number;
}

const CARD_ID = /^[0-9a-f]{16}$/;
const TOPIC_SAFE_ID = /^[A-Za-z0-9._-]{1,64}$/; // no '/', '+', '#': it is an MQTT topic level
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const u32 = z.number().int().min(0).max(0xffff_ffff);
const minorUnits = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const currency = z.string().regex(/^[A-Z]{3}$/);
const isoTime = z.iso.datetime({ offset: true });

const recordSchema = z.strictObject({
  seq: u32,
  cardId: z.string().regex(CARD_ID),
  market: z.string().min(1).max(253),
  orderId: z.string().min(1).max(64),
  amount: minorUnits,
  currency,
  time: isoTime,
  status: z.enum(['paid', 'cancelled']),
});

const loadSchema = z.strictObject({
  cardId: z.string().regex(CARD_ID),
  counter: u32,
  amount: minorUnits,
  currency,
  newBalance: minorUnits,
});

export const notificationSchema = z
  .strictObject({
    id: z.string().regex(/^[0-9a-f]{16}:(decision|cancel|topup):\d{1,10}(:payer)?$/),
    type: z.enum(NOTIFICATION_TYPES),
    terminalId: z.string().regex(TOPIC_SAFE_ID),
    mail: z.email(),
    time: isoTime,
    record: recordSchema.optional(),
    signedRecord: z.string().regex(BASE64).min(1).optional(),
    cardCertificate: z.string().regex(BASE64).min(1).optional(),
    load: loadSchema.optional(),
    balance: minorUnits.optional(),
  })
  .superRefine((n, ctx) => {
    if (n.type !== 'topup' && n.record === undefined) ctx.addIssue({ code: 'custom', path: ['record'], message: `a ${n.type} carries its record` });
    if (n.type === 'topup' && n.load === undefined) ctx.addIssue({ code: 'custom', path: ['load'], message: 'a topup carries its load' });
    if (!n.id.includes(`:${n.type}:`)) ctx.addIssue({ code: 'custom', path: ['id'], message: 'the id names another event type' });
  });

/**
 * The stable id of one card event: `<cardId>:<type>:<seq>`; the copy of a
 * cancel for the terminal that paid, when another terminal cancelled, is
 * `<cardId>:cancel:<seq>:payer` (one id per recipient: the outbox sends an
 * id once).
 */
export function notificationId(event: { cardId: string; type: NotificationType; seq: number; copy?: 'payer' }): string {
  return `${event.cardId}:${event.type}:${event.seq}${event.copy ? `:${event.copy}` : ''}`;
}

/** The card event a notification is about; `time` defaults to the record's or else now. */
export interface NotificationEvent {
  type: NotificationType;
  cardId: string;
  /** DF50 the event was made at (a cancel: the cancelled decision's seq; a topup: the receipt's counter). */
  seq: number;
  /** 'payer': the copy of a cancel for the terminal that paid, when another one cancelled. */
  copy?: 'payer';
  terminalId: string;
  mail: string;
  time?: Date | string;
  record?: DecisionRecordFields;
  signedRecord?: Uint8Array;
  cardCertificate?: Uint8Array;
  load?: LoadFields;
  balance?: number;
}

/** No bytes (undefined or empty, e.g. an archived entry without its record) is no field. */
const base64 = (bytes: Uint8Array | undefined) => (bytes === undefined || bytes.length === 0 ? undefined : Buffer.from(bytes).toString('base64'));

/** Builds and validates a notification; NotifyError('invalid-notification') when a field is wrong. */
export function createNotification(event: NotificationEvent): Notification {
  const time = event.time ?? event.record?.time ?? new Date();
  return parseNotification({
    id: notificationId(event),
    type: event.type,
    terminalId: event.terminalId,
    mail: event.mail,
    time: typeof time === 'string' ? time : time.toISOString(),
    record: event.record,
    signedRecord: base64(event.signedRecord),
    cardCertificate: base64(event.cardCertificate),
    load: event.load,
    balance: event.balance,
  });
}

/** Validates an untrusted value (a file, a payload) as a Notification; drops undefined members. */
export function parseNotification(value: unknown): Notification {
  const result = notificationSchema.safeParse(value);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new NotifyError('invalid-notification', `Not a notification: ${issues.join('; ')}`, { issues });
  }
  return JSON.parse(JSON.stringify(result.data)) as Notification;
}

/** Stable JSON (sorted keys): the MQTT payload and the SMTP attachment. */
export function serializeNotification(n: Notification): string {
  return stableJson(n as unknown as JsonValue);
}
