/**
 * Borrow the home card for one piece of work in a terminal's card session:
 * the lease is handed back whatever the work does, so a failure cannot keep
 * other terminals off the card.
 */
import type { HomeCard } from '../../card-io/home-card/home-card.js';
import type { CardSessions } from './card-sessions.js';

/** Run `fn` with the card in this terminal's card session; the card is handed back afterwards. */
export async function withCard<T>(sessions: CardSessions, terminalId: string, fn: (card: HomeCard) => Promise<T>): Promise<T> {
  const lease = await sessions.lease(terminalId);
  try {
    return await fn(lease.card);
  } finally {
    lease.release();
  }
}
