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
   * card's next block. Default 1500 ms. ISO derives BWT from the ATR's BWI
   * (about 1.6 s at 9600 baud); a card in a socket has one (socket/t1-from-atr.ts),
   * a bare line has not, and the card asks for more with S(WTX) when an
   * operation is slow.
   */
  bwtMs?: number;
  /** Character waiting time in ms; a partial block older than this is dropped. Default 50 ms. */
  cwtMs?: number;
  /** Retransmissions of one block before S(RESYNCH). 0..10, default 3 (§11.6.3, rule 7.4). */
  maxRetries?: number;
  /**
   * Interface device only: the longest time one transmit may take, in ms, from
   * its start. Past it the exchange ends with S(RESYNCH) and
   * CardError(Resynchronized), and S(WTX) is no longer granted. Default 10000,
   * the driver's default command timeout: raise both together for a slow card.
   * ISO/IEC 7816-3 §11.6 bounds each wait (BWT; BWT x multiplier after S(WTX),
   * rule 3) but not how many there are, and the command queue waits for a
   * transmit to end before it sends the next command: a card that keeps asking
   * for time or for a new IFSC, or chains its answer forever, would otherwise
   * hold the link and every later command with it.
   */
  maxTransmitMs?: number;
}

export interface ResolvedT1Options {
  nad: number;
  edc: EdcKind;
  ifsc: number;
  ifsd: number;
  bwtMs: number;
  cwtMs: number;
  maxRetries: number;
  maxTransmitMs: number;
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
    maxTransmitMs: o.maxTransmitMs ?? 10_000,
  };
  const bad: string[] = [];
  if (!Number.isInteger(r.nad) || r.nad < 0 || r.nad > 0xff) bad.push('nad must be a byte');
  for (const k of ['ifsc', 'ifsd'] as const) if (!Number.isInteger(r[k]) || r[k] < 1 || r[k] > 254) bad.push(`${k} must be 1..254`);
  if (!(r.bwtMs > 0)) bad.push('bwtMs must be positive');
  if (!(r.cwtMs > 0)) bad.push('cwtMs must be positive');
  if (!Number.isInteger(r.maxRetries) || r.maxRetries < 0 || r.maxRetries > 10) bad.push('maxRetries must be 0..10');
  if (!(r.maxTransmitMs > 0)) bad.push('maxTransmitMs must be positive');
  if (bad.length) throw new CardError(CardErrorCode.InvalidArgument, `Invalid T=1 options: ${bad.join('; ')}`);
  return r;
}
