/**
 * The shapes of what markets and the issuer answer (PAYMENTS.md), as zod
 * schemas: an answer that does not fit is a `bad-answer` at the HTTP client
 * (https-json.ts), so a hostile or broken peer never puts NaN, a negative or
 * an inexact amount, or a non-string currency in front of the card.
 */
import { z } from 'zod';

/** Minor units the gateway handles exactly: a positive safe integer (the card's own field is u64). */
export const minorUnits = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
/** ISO 4217 alphabetic code, as the card stores it (PROTOCOL.md, DF54). */
export const currencyCode = z.string().regex(/^[A-Z]{3}$/);
/** Standard base64 (RFC 4648 §4) of a bounded binary field. */
const base64 = z
  .string()
  .min(1)
  .max(64 * 1024)
  .regex(/^[A-Za-z0-9+/]+={0,2}$/);

export const marketOrderSchema = z.object({
  orderId: z.string().min(1).max(64),
  amount: minorUnits,
  currency: currencyCode,
  status: z.enum(['open', 'paid', 'cancelled']),
});

export const presentAnswerSchema = z.object({
  orderId: z.string().max(64).optional(),
  status: z.string().max(32).optional(),
});

export const cancelAuthorizationSchema = z.object({ authorization: base64, signature: base64, certificate: base64 });

/** The issuer's answer to `POST /v1/loads`: a reservation and the authorization bound to the card's challenge. */
export const loadReservationSchema = z.object({ id: z.string().min(1).max(128), authorization: base64, signature: base64 });
