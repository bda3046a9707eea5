/**
 * The T=1 parameters of a socket-activated card: what its ATR says (§11.4),
 * what configuration overrides, and floors for the line between us and the
 * card. Nothing an ATR carries has to be configured by hand.
 */
import type { Atr } from '../atr/atr.js';
import type { T1Options } from '../t1/t1-options.js';
import { t1WaitingTimes } from './activation-timing.js';

/** The shortest BWT and CWT used, in ms: a USB adapter, a TCP line or a busy host adds latency no ATR foresees. */
export const BWT_FLOOR_MS = 200;
export const CWT_FLOOR_MS = 50;

/**
 * The IFSD this interface device announces with S(IFS request) after the reset
 * (ISO/IEC 7816-3 §11.4.2, §11.6.2.2): the largest, 254. The ATR says what the
 * card accepts (IFSC); what the reader accepts is the reader's to announce, and
 * the default of 32 would chain every answer longer than 32 bytes (a signature,
 * a certificate) into pieces, each a block and an R-block on the line.
 */
export const IFD_IFSD = 254;

export function t1OptionsFromAtr(atr: Atr, line: { baudRate: number; clockHz?: number }, overrides: T1Options = {}): T1Options {
  const waits = t1WaitingTimes({ bwi: atr.t1.bwi, cwi: atr.t1.cwi, baudRate: line.baudRate, clockHz: line.clockHz });
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) as T1Options;
  return {
    ifsc: atr.t1.ifsc,
    ifsd: IFD_IFSD,
    edc: atr.t1.edc,
    bwtMs: Math.max(BWT_FLOOR_MS, waits.bwtMs),
    cwtMs: Math.max(CWT_FLOOR_MS, waits.cwtMs),
    ...defined,
  };
}
