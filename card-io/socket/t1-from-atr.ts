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

export function t1OptionsFromAtr(atr: Atr, line: { baudRate: number; clockHz?: number }, overrides: T1Options = {}): T1Options {
  const waits = t1WaitingTimes({ bwi: atr.t1.bwi, cwi: atr.t1.cwi, baudRate: line.baudRate, clockHz: line.clockHz });
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) as T1Options;
  return {
    ifsc: atr.t1.ifsc,
    edc: atr.t1.edc,
    bwtMs: Math.max(BWT_FLOOR_MS, waits.bwtMs),
    cwtMs: Math.max(CWT_FLOOR_MS, waits.cwtMs),
    ...defined,
  };
}
