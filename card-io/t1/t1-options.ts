/**
 * T=1 parameters shared by the interface device and the card engine. Each
 * default is the ISO/IEC 7816-3 default unless a comment says why not.
 */
import { CardError, CardErrorCode } from '../errors.js';
import type { EdcKind } from './edc.js';

export interface T1Options {
  /** Node address byte on every block. Default 0x00 (no addressing, §11.3.2.1). */
  nad?: number;
  /** Epilogue: 'lrc' (the default when an ATR has no TC3, §11.4.4) or 'crc'. */
  edc?: EdcKind;
  /** IFSC, the most INF bytes the card accepts in one block. 1..254, default 32 (§11.4.2). */
  ifsc?: number;
  /** IFSD, the most INF bytes the interface device accepts. 1..254, default 32 (§11.4.2). */
  ifsd?: number;
  /**
   * Block waiting time in ms: how long the interface device waits for the
   * card's next block. Default 1500 ms. ISO derives BWT from the ATR (about
   * 1.6 s at 9600 baud); we have no ATR, and the card asks for more with
   * S(WTX) when an operation is slow.
   */
  bwtMs?: number;
  /** Character waiting time in ms; a partial block older than this is dropped. Default 50 ms. */
  cwtMs?: number;
  /** Retransmissions of one block before S(RESYNCH). 0..10, default 3 (§11.6.3, rule 7.4). */
  maxRetries?: number;
  /**
   * Interface device only: the most time, in ms, that S(WTX) requests may add to
   * one transmit, from its start. Default 10000, the driver's default command
   * timeout. ISO/IEC 7816-3 §11.6 (rule 3) sets no limit, but the command
   * queue waits for a transmit to settle before the next command, so a card
   * asking for time forever (or for 255 x BWT) would hold every later command
   * with it. Past the budget the wait is cut short and a further S(WTX) is
   * treated as an invalid block (rule 7), which ends in S(RESYNCH).
   */
  maxWtxMs?: number;
}

export interface ResolvedT1Options {
  nad: number;
  edc: EdcKind;
  ifsc: number;
  ifsd: number;
  bwtMs: number;
  cwtMs: number;
  maxRetries: number;
  maxWtxMs: number;
}

export function resolveT1Options(o: T1Options = {}): ResolvedT1Options {
  const r: ResolvedT1Options = {
    nad: o.nad ?? 0,
    edc: o.edc ?? 'lrc',
    ifsc: o.ifsc ?? 32,
    ifsd: o.ifsd ?? 32,
    bwtMs: o.bwtMs ?? 1500,
    cwtMs: o.cwtMs ?? 50,
    maxRetries: o.maxRetries ?? 3,
    maxWtxMs: o.maxWtxMs ?? 10_000,
  };
  const bad: string[] = [];
  if (!Number.isInteger(r.nad) || r.nad < 0 || r.nad > 0xff) bad.push('nad must be a byte');
  for (const k of ['ifsc', 'ifsd'] as const) if (!Number.isInteger(r[k]) || r[k] < 1 || r[k] > 254) bad.push(`${k} must be 1..254`);
  if (!(r.bwtMs > 0)) bad.push('bwtMs must be positive');
  if (!(r.cwtMs > 0)) bad.push('cwtMs must be positive');
  if (!Number.isInteger(r.maxRetries) || r.maxRetries < 0 || r.maxRetries > 10) bad.push('maxRetries must be 0..10');
  if (!(r.maxWtxMs >= 0)) bad.push('maxWtxMs must be 0 or more');
  if (bad.length) throw new CardError(CardErrorCode.InvalidArgument, `Invalid T=1 options: ${bad.join('; ')}`);
  return r;
}
