/**
 * The home card in a socket: activate it (reset, ATR, PPS; socket/card-socket.ts),
 * then T=1 with the ATR's parameters (configuration overrides them), then the
 * HomeCard driver. One interface device per activation: when the card is
 * pulled, `abort` ends its exchange at once with CardError(CardRemoved).
 */
import { silentLogger, type Logger } from '../base/log.js';
import { CardError, CardErrorCode, isCardError } from '../errors.js';
import type { CardSocket, ResetKind, SocketActivation } from '../socket/card-socket.js';
import { inverseConventionLink } from '../socket/inverse-link.js';
import { t1OptionsFromAtr } from '../socket/t1-from-atr.js';
import { T1InterfaceDevice } from '../t1/t1-interface-device.js';
import type { T1Options } from '../t1/t1-options.js';
import { HomeCard } from './home-card.js';

export interface SocketCardOptions {
  socket: CardSocket;
  /** The line's speed at Fd/Dd in bits/s (for BWT/CWT from BWI/CWI). */
  baudRate: number;
  clockHz?: number;
  logger?: Logger;
  /** Configuration overrides of what the ATR says (edc, ifsc, bwtMs, …); undefined fields are the ATR's. */
  t1?: T1Options;
  commandTimeoutMs?: number;
}

export interface ActivatedHomeCard {
  readonly card: HomeCard;
  readonly ifd: T1InterfaceDevice;
  readonly activation: SocketActivation;
  /** The T=1 parameters in use (the ATR's, overridden by configuration). */
  readonly t1: T1Options;
  /** The card was pulled: the exchange in progress ends now with CardRemoved, and so does every later one. */
  abort(): void;
  /**
   * Whether T=1 gave up on the card since the last call (S(RESYNCH) did not
   * help, or no block came): the card stopped answering, and a reset is due.
   */
  takeStoppedAnswering(): boolean;
  close(): void;
}

export async function activateHomeCard(o: SocketCardOptions, kind: ResetKind = 'cold'): Promise<ActivatedHomeCard> {
  const logger = o.logger ?? silentLogger;
  const activation = await o.socket.activate(kind);
  if (!activation.atr.protocols.includes(1)) {
    throw new CardError(CardErrorCode.AtrInvalid, 'The card does not offer T=1, the home card protocol', {
      reason: 'no-t1',
      atr: activation.atr.bytes.toString('hex'),
    });
  }
  const t1 = t1OptionsFromAtr(activation.atr, { baudRate: o.baudRate, clockHz: o.clockHz }, o.t1);
  // An inverse-convention card (TS 3F): its characters are converted on the way in and out.
  const link = activation.atr.convention === 'inverse' ? inverseConventionLink(o.socket.link) : o.socket.link;
  const ifd = new T1InterfaceDevice({ ...t1, link, logger: logger.child({ channel: 't1' }) });
  let stoppedAnswering = false;
  const transport = {
    transmit: (apdu: Buffer) =>
      ifd.transmit(apdu).catch((e: unknown) => {
        if (isCardError(e, CardErrorCode.Resynchronized) || isCardError(e, CardErrorCode.BlockTimeout)) stoppedAnswering = true;
        throw e;
      }),
  };
  const card = new HomeCard({ transport, logger: logger.child({ channel: 'card' }), commandTimeoutMs: o.commandTimeoutMs });
  return {
    card,
    ifd,
    activation,
    t1,
    abort: () =>
      ifd.abort(
        (sent) =>
          new CardError(
            CardErrorCode.CardRemoved,
            sent ? 'The card was pulled during the command; whether it ran is unknown until the card is back' : 'The card was pulled; the command was not sent',
            { outcome: sent ? 'unknown' : 'not-sent' },
          ),
      ),
    takeStoppedAnswering: () => {
      const was = stoppedAnswering;
      stoppedAnswering = false;
      return was;
    },
    close: () => ifd.close(),
  };
}
