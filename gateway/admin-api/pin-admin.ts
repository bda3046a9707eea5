/**
 * The way back from a blocked PIN, and PIN changes, on the gateway's admin
 * socket (`homegate card unblock 1|2`, `homegate card change-pin 1|2`). The
 * PINs travel in the request body over the 0600 Unix socket; they are never
 * logged and never kept.
 *
 * - unblock: RESET RETRY COUNTER with the PUK (ISO 7816-4 §11.5.10) sets a new
 *   PIN and restores its counter;
 * - change-pin: CHANGE REFERENCE DATA (ISO 7816-4 §11.5.7) with the current
 *   PIN; the card wants PIN1 verified before PIN2 is changed (PROTOCOL.md).
 *
 * A new PIN is held to the household's rules where they can be checked here
 * (not one digit repeated; a new PIN2 not PIN1), as at personalization.
 *
 * Both run in a fresh card session. A new PIN1 ends every terminal's card
 * session: their cached PIN1 is no longer the card's.
 */
import { CardError, CardErrorCode } from '../../card-io/errors.js';
import type { Logger } from '../../card-io/base/log.js';
import { validatePin, type PinId } from '../../card-io/home-card/pin-block.js';
import { checkNewPin, PinRuleError } from '../../provisioning/household-pins.js';
import type { CardSessions } from '../card/card-sessions.js';
import { ApiError } from '../terminal-api/api-error.js';

/** Who tried, in the log lines of the PIN tries made here. */
const ADMIN = 'admin-socket';

export class PinAdmin {
  constructor(
    private readonly sessions: CardSessions,
    private readonly logger: Logger,
  ) {}

  async unblock(which: PinId, puk: string, newPin: string): Promise<void> {
    checkFormat('PUK', puk);
    checkFormat(which, newPin);
    checkRules(which, newPin);
    await this.sessions.withFreshCard((card) =>
      card.unblockPin(which, puk, newPin).catch((e: unknown) => {
        throw this.sessions.failedTry(ADMIN, 'PUK', e);
      }),
    );
    this.logger.info({ pin: which }, 'PIN set with the PUK; its counter is full again');
    if (which === 'PIN1') this.sessions.dropAll('PIN1 set with the PUK');
  }

  async change(which: PinId, currentPin: string, newPin: string, pin1?: string): Promise<void> {
    checkFormat(which, currentPin);
    checkFormat(which, newPin);
    if (which === 'PIN2') checkFormat('PIN1', pin1);
    checkRules(which, newPin, pin1);
    await this.sessions.withFreshCard(async (card) => {
      if (which === 'PIN2') {
        await card.verifyPin1(pin1!).catch((e: unknown) => {
          throw this.sessions.failedTry(ADMIN, 'PIN1', e);
        });
      }
      await card.changePin(which, currentPin, newPin).catch((e: unknown) => {
        throw this.sessions.failedTry(ADMIN, which, e);
      });
    });
    this.logger.info({ pin: which }, 'PIN changed');
    if (which === 'PIN1') this.sessions.dropAll('PIN1 changed');
  }
}

/** A malformed PIN is refused before the card is asked, so it never costs a try. */
function checkFormat(kind: PinId | 'PUK', pin: unknown): asserts pin is string {
  try {
    validatePin(kind, pin);
  } catch (e) {
    if (e instanceof CardError && e.code === CardErrorCode.InvalidArgument) throw new ApiError(400, 'bad-request', e.message, { pin: kind });
    throw e;
  }
}

/** The household's rules for a new PIN (provisioning/household-pins.ts), also before the card is asked. */
function checkRules(which: PinId, newPin: string, otherPin?: string): void {
  try {
    checkNewPin(which, newPin, otherPin);
  } catch (e) {
    if (e instanceof PinRuleError) throw new ApiError(400, 'bad-request', e.message, { pin: which });
    throw e;
  }
}

/** "1" | "2" from the route → the PIN it names. */
export function pinFromParam(p: string | undefined): PinId {
  if (p === '1') return 'PIN1';
  if (p === '2') return 'PIN2';
  throw new ApiError(400, 'bad-request', 'The PIN must be 1 or 2');
}
