/**
 * The electrical side of a card socket (ISO/IEC 7816-3 §5: contacts C1 VCC,
 * C2 RST, and the socket's own detect switch), apart from the I/O line.
 *
 * Each backend (gpio, modem-lines, virtual) implements only these signals;
 * debouncing, activation timing, ATR reading and PPS live once, above them,
 * in the card socket (card-socket.ts), so every backend behaves the same.
 */

export type SocketBackendKind = 'gpio' | 'modem-lines' | 'virtual';

export interface SocketSignals {
  readonly kind: SocketBackendKind;
  /** The detect switch as last read, raw (not debounced): true = a card is in. */
  readDetect(): Promise<boolean>;
  /** Every raw edge of the detect switch (bounces included); returns the unsubscribe function. */
  onDetectEdge(listener: (present: boolean) => void): () => void;
  /** Drive VCC (C1). Backends without a power switch resolve at once and report `switchesPower: false`. */
  setPower(on: boolean): Promise<void>;
  /** Drive RST (C2): true = reset asserted (the contact held low). */
  setReset(asserted: boolean): Promise<void>;
  /** Whether setPower really switches the card's supply (a cold reset needs it). */
  readonly switchesPower: boolean;
  /** What status pages show: pins or lines used, polarity. Never secrets. */
  describe(): Record<string, unknown>;
  close(): Promise<void>;
}
