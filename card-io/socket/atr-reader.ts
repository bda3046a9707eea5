/**
 * Reading the ATR from the card line (ISO/IEC 7816-3 §8.1, §8.2): the first
 * character within the ATR start time, each next one within the character
 * time, as many as the interface bytes announce. An inverse-convention card's
 * bytes (TS received as 03) are decoded on the way.
 */
import { atrLength, parseAtr, type Atr } from '../atr/atr.js';
import { convertInverse, TS_INVERSE_AS_RECEIVED } from '../atr/atr-convention.js';
import { CardError, CardErrorCode } from '../errors.js';
import type { ByteLink } from '../link/link.js';
import type { ActivationTiming } from './activation-timing.js';

export interface AtrRead {
  atr: Atr;
  /** ms from the start of reading to the last ATR byte. */
  elapsedMs: number;
}

/**
 * Subscribes at once (call it before releasing RST) and returns a function
 * that waits for the complete ATR. Rejects with CardMute when nothing or too
 * little came in time, AtrInvalid when the bytes are not an ATR or TCK is wrong.
 */
export function listenForAtr(link: ByteLink, timing: ActivationTiming): { read(): Promise<AtrRead>; cancel(): void } {
  let received = Buffer.alloc(0);
  let wake: (() => void) | undefined;
  const off = link.onData((chunk) => {
    received = Buffer.concat([received, chunk]);
    wake?.();
  });
  const started = Date.now();
  const waitForMore = (ms: number) =>
    new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        wake = undefined;
        resolve(false);
      }, ms);
      wake = () => {
        clearTimeout(timer);
        wake = undefined;
        resolve(true);
      };
    });
  const read = async (): Promise<AtrRead> => {
    try {
      let waitMs = timing.atrStartMs;
      for (;;) {
        const decoded = received[0] === TS_INVERSE_AS_RECEIVED ? convertInverse(received) : received;
        const length = atrLength(decoded);
        if (length !== 'more' && decoded.length >= length) {
          const atr = parseAtr(decoded.subarray(0, length));
          if (atr.tck === 'invalid') {
            throw new CardError(CardErrorCode.AtrInvalid, 'Invalid ATR: its check character TCK is wrong', { reason: 'tck', atr: atr.bytes.toString('hex') });
          }
          return { atr, elapsedMs: Date.now() - started };
        }
        const before = received.length;
        if (!(await waitForMore(waitMs)) && received.length === before) {
          throw new CardError(
            CardErrorCode.CardMute,
            received.length ? `The card's ATR stopped after ${received.length} bytes` : `No ATR within ${timing.atrStartMs} ms of reset`,
            { received: received.length },
          );
        }
        waitMs = timing.atrCharacterMs;
      }
    } finally {
      off();
    }
  };
  return { read, cancel: off };
}
