/**
 * ISO/IEC 7816-3 activation timing in milliseconds for a given card clock:
 *
 *  - §6.2.2 / §6.2.3: RST stays low for at least 400 clock cycles (ta) after
 *    the clock starts (cold) or after RST goes low (warm);
 *  - §8.1: the ATR's first character starts within 400 to 40 000 clock cycles
 *    after RST goes high; no answer by then and the card is mute;
 *  - §8.2 / §7.2: the ATR's characters follow each other within the initial
 *    waiting time, 9 600 etu (WT = 9600 × Fd / f).
 *
 * On a board the clock is a few MHz, so these are microseconds to
 * milliseconds; between the gateway and a card sit a serial adapter, a USB
 * stack, a TCP line or another process, and a timer's granularity. So each
 * value has a floor, and the larger of the two is used.
 */

export interface ActivationTimingOptions {
  /** The card line's speed at Fd/Dd in bits/s (one etu = 1 / baud s). */
  baudRate: number;
  /**
   * The card's clock in Hz. Default baudRate × 372 (a UART at the default
   * Fd/Dd runs at f / 372, so this is the clock the speed implies).
   */
  clockHz?: number;
  /** Least RST low time in ms. Default 2 (one timer tick, and a USB control transfer). */
  resetLowFloorMs?: number;
  /** Least time to wait for the ATR's first byte, in ms. Default 500 (a separate process, a TCP line). */
  atrStartFloorMs?: number;
  /** Least time between two ATR characters, in ms. Default 200. */
  atrCharacterFloorMs?: number;
}

export interface ActivationTiming {
  resetLowMs: number;
  atrStartMs: number;
  atrCharacterMs: number;
}

export function activationTiming(o: ActivationTimingOptions): ActivationTiming {
  const clockHz = o.clockHz ?? o.baudRate * 372;
  const cyclesMs = (cycles: number) => (cycles / clockHz) * 1000;
  const etuMs = 1000 / o.baudRate;
  return {
    resetLowMs: Math.max(o.resetLowFloorMs ?? 2, Math.ceil(cyclesMs(400))),
    atrStartMs: Math.max(o.atrStartFloorMs ?? 500, Math.ceil(cyclesMs(40_000))),
    atrCharacterMs: Math.max(o.atrCharacterFloorMs ?? 200, Math.ceil(9600 * etuMs)),
  };
}

/**
 * T=1 waiting times from the ATR (§11.4.3), in ms at the default speed:
 * BWT = 11 etu + 2^BWI × 960 × Fd / f; CWT = (11 + 2^CWI) etu.
 */
export function t1WaitingTimes(o: { bwi: number; cwi: number; baudRate: number; clockHz?: number }): { bwtMs: number; cwtMs: number } {
  const clockHz = o.clockHz ?? o.baudRate * 372;
  const etuMs = 1000 / o.baudRate;
  return {
    bwtMs: Math.ceil(11 * etuMs + ((2 ** o.bwi * 960 * 372) / clockHz) * 1000),
    cwtMs: Math.ceil((11 + 2 ** o.cwi) * etuMs),
  };
}
