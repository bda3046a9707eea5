/**
 * The purse's seam for a person's confirmation on the gateway itself (the
 * panel's confirm button): a payment or top-up above a threshold waits for a
 * physical press before anything touches the card, the market or the issuer.
 * The purse knows only this interface; the panel (gateway/panel/) implements
 * it, and a headless gateway has none (no wait).
 */
import { CodedError } from '../../card-io/base/coded-error.js';

export interface ConfirmationRequest {
  kind: 'pay' | 'topup';
  /** Minor units. */
  amount: number;
  /** ISO 4217; absent for a top-up (the purse's currency is read from the card only after the press). */
  currency?: string;
  /** The asking terminal's id. */
  terminal: string;
}

export interface Confirmation {
  /**
   * Resolves at once when the amount needs no confirmation, or when the
   * person confirmed; rejects with a ConfirmationError otherwise.
   */
  awaitConfirmation(request: ConfirmationRequest): Promise<void>;
}

export type ConfirmationErrorCode =
  /** No press within the timeout. */
  | 'confirmation-timeout'
  /** A long press: the person on the gateway refused. */
  | 'confirmation-refused'
  /** Another confirmation is waiting for the one button; this request is refused, not queued. */
  | 'confirmation-busy';

export class ConfirmationError extends CodedError<ConfirmationErrorCode> {
  override readonly name = 'ConfirmationError';
  readonly family = 'confirmation';
  constructor(code: ConfirmationErrorCode, message: string, context: { kind: 'pay' | 'topup'; amount: number }) {
    super(code, message, context);
  }
}
