/**
 * The confirm button (a hardware wallet's habit): a payment or top-up above
 * its threshold waits for a press on the gateway itself. A short press
 * (released before `longPressMs`) confirms; holding it `longPressMs` refuses
 * at once; no press within `timeoutMs` refuses. One button, one question: a
 * second request while one waits is refused (`confirmation-busy`), never
 * queued, so a press always answers the request the person was shown.
 *
 * Each state change is a `confirmation` event (the busy LED blinks fast, the
 * status endpoint shows the pending request).
 */
import { type Confirmation, ConfirmationError, type ConfirmationRequest } from '../emoney/confirmation.js';
import type { GatewayEvents } from '../events/gateway-events.js';

/** The button's edges, as johnny-five's Button reports them (`down`, `up`, and `hold` after its holdtime). */
export interface ButtonInput {
  on(event: 'down' | 'up' | 'hold', listener: () => void): unknown;
  removeListener(event: 'down' | 'up' | 'hold', listener: () => void): unknown;
}

export interface ConfirmButtonOptions {
  button: ButtonInput;
  events: GatewayEvents;
  payAbove?: number;
  topupAbove?: number;
  timeoutMs: number;
  clock?: () => number;
}

export interface PendingConfirmation {
  kind: 'pay' | 'topup';
  amount: number;
  currency?: string;
  terminal: string;
  /** ISO time after which it is refused. */
  expiresAt: string;
}

type Settle = (outcome: 'confirmed' | 'timeout' | 'cancelled') => void;

export class ConfirmButton implements Confirmation {
  private current: { request: PendingConfirmation; settle: Settle; pressed: boolean } | undefined;
  private readonly now: () => number;
  private readonly onDown = () => {
    if (this.current) this.current.pressed = true;
  };
  private readonly onUp = () => {
    // Only a press that began while the question was asked answers it.
    if (this.current?.pressed) this.current.settle('confirmed');
  };
  private readonly onHold = () => {
    if (this.current?.pressed) this.current.settle('cancelled');
  };

  constructor(private readonly o: ConfirmButtonOptions) {
    this.now = o.clock ?? Date.now;
    o.button.on('down', this.onDown);
    o.button.on('up', this.onUp);
    o.button.on('hold', this.onHold);
  }

  /** Whether this amount waits for a press (strictly above the threshold; no threshold: never). */
  needsConfirmation(kind: 'pay' | 'topup', amount: number): boolean {
    const above = kind === 'pay' ? this.o.payAbove : this.o.topupAbove;
    return above !== undefined && amount > above;
  }

  get pending(): PendingConfirmation | undefined {
    return this.current?.request;
  }

  awaitConfirmation(r: ConfirmationRequest): Promise<void> {
    if (!this.needsConfirmation(r.kind, r.amount)) return Promise.resolve();
    const context = { kind: r.kind, amount: r.amount };
    if (this.current) {
      return Promise.reject(new ConfirmationError('confirmation-busy', 'Another payment or top-up is waiting for the confirm button on the gateway', context));
    }
    const request: PendingConfirmation = {
      kind: r.kind,
      amount: r.amount,
      ...(r.currency ? { currency: r.currency } : {}),
      terminal: r.terminal,
      expiresAt: new Date(this.now() + this.o.timeoutMs).toISOString(),
    };
    const event = { kind: r.kind, amount: r.amount, ...(r.currency ? { currency: r.currency } : {}) };
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => settle('timeout'), this.o.timeoutMs);
      const settle: Settle = (outcome) => {
        if (this.current?.settle !== settle) return;
        clearTimeout(timer);
        this.current = undefined;
        this.o.events.emit('confirmation', { pending: false, ...event, outcome });
        if (outcome === 'confirmed') return resolve();
        const seconds = Math.round(this.o.timeoutMs / 1000);
        reject(
          outcome === 'timeout'
            ? new ConfirmationError('confirmation-timeout', `Nobody pressed the confirm button on the gateway within ${seconds} s; nothing was done`, context)
            : new ConfirmationError('confirmation-refused', 'Refused with a long press on the gateway; nothing was done', context),
        );
      };
      this.current = { request, settle, pressed: false };
      this.o.events.emit('confirmation', { pending: true, ...event });
    });
  }

  close(): void {
    this.current?.settle('cancelled');
    this.o.button.removeListener('down', this.onDown);
    this.o.button.removeListener('up', this.onUp);
    this.o.button.removeListener('hold', this.onHold);
  }
}
