/**
 * The human-readable side of a notification: a mail subject and a plain-text
 * body summarizing the decision, cancel or top-up. The machine-readable side
 * (the notification JSON with the card's signed record) is attached as is.
 */
import type { Notification } from './notification.js';

/** ISO 4217 minor-unit exponents that are not 2 (the purse counts minor units). */
const EXPONENTS: Record<string, number> = { JPY: 0, KRW: 0, ISK: 0, CLP: 0, VND: 0, BHD: 3, KWD: 3, JOD: 3, OMR: 3, TND: 3 };

export function formatAmount(minorUnits: number, currency: string): string {
  const exponent = EXPONENTS[currency] ?? 2;
  if (exponent === 0) return `${minorUnits} ${currency}`;
  const text = String(minorUnits).padStart(exponent + 1, '0');
  return `${text.slice(0, -exponent)}.${text.slice(-exponent)} ${currency}`;
}

export function mailSubject(n: Notification): string {
  if (n.type === 'topup' && n.load) return `homegate: top-up of ${formatAmount(n.load.amount, n.load.currency)}`;
  const r = n.record;
  const what = r ? `${formatAmount(r.amount, r.currency)} at ${r.market}` : n.id;
  return n.type === 'cancel' ? `homegate: payment cancelled, ${what} refunded` : `homegate: payment of ${what}`;
}

export function mailText(n: Notification): string {
  const lines: string[] = [];
  const row = (label: string, value: string) => lines.push(`${`${label}:`.padEnd(10)} ${value}`);
  if (n.type === 'topup' && n.load) {
    lines.push('The home card was topped up.', '');
    row('Amount', formatAmount(n.load.amount, n.load.currency));
    row('Balance', formatAmount(n.load.newBalance, n.load.currency));
  } else if (n.record) {
    const r = n.record;
    lines.push(
      n.type === 'cancel' ? 'A payment made with the home card was cancelled; the amount is back in the purse.' : 'The home card made a payment decision.',
      '',
    );
    row('Market', r.market);
    row('Order', r.orderId);
    row('Amount', formatAmount(r.amount, r.currency));
    row('Status', r.status);
    row('Sequence', String(r.seq));
    if (n.balance !== undefined) row('Balance', formatAmount(n.balance, r.currency));
  }
  row('Time', n.time);
  row('Terminal', n.terminalId);
  row('Id', n.id);
  lines.push(
    '',
    n.signedRecord !== undefined
      ? 'The attached notification.json carries the record as the card signed it and the card certificate, so it can be verified independently.'
      : 'The attached notification.json carries the same information for programs.',
  );
  return `${lines.join('\n')}\n`;
}
