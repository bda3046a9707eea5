/**
 * A short beep on each payment decision: the household hears that the card
 * decided, whichever terminal asked. An active buzzer on one pin: high for
 * `beepMs`, then low.
 */
import type { GatewayEvents } from '../events/gateway-events.js';

export interface BuzzerOutput {
  high(): unknown;
  low(): unknown;
}

export function beepOnDecision(events: GatewayEvents, buzzer: BuzzerOutput, beepMs: number): () => void {
  let timer: NodeJS.Timeout | undefined;
  const off = events.on('decision', () => {
    clearTimeout(timer);
    buzzer.high();
    timer = setTimeout(() => buzzer.low(), beepMs);
  });
  return () => {
    off();
    clearTimeout(timer);
    buzzer.low();
  };
}
