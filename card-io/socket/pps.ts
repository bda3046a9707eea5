/**
 * Protocol and parameters selection, ISO/IEC 7816-3:2006 §9: right after the
 * ATR, the interface device may ask for another protocol or a faster Fi/Di.
 *
 *   PPSS (FF)  PPS0 (b5..b7: PPS1..PPS3 present; b1..b4: T)  [PPS1 = FI DI]  PCK
 *
 * PCK makes the exclusive-or of all the characters 00. The card answers
 * (§9.3): the same bytes (accepted); or the same PPS0 with b5 clear and no
 * PPS1 (the protocol is accepted, Fi/Di stay Fd/Dd); anything else, or
 * nothing within the initial waiting time, is a failed exchange, after which
 * the interface device deactivates and resets the card.
 */

export const PPSS = 0xff;

export interface PpsRequest {
  protocol: number;
  /** TA1's byte (FI high nibble, DI low nibble) to select. */
  ta1: number;
}

export function encodePps(r: PpsRequest): Buffer {
  const pps0 = 0x10 | (r.protocol & 0x0f);
  return Buffer.from([PPSS, pps0, r.ta1, PPSS ^ pps0 ^ r.ta1]);
}

/** How many bytes a PPS message has, from its first two; 'more' until PPS0 is in. */
export function ppsLength(bytes: Uint8Array): number | 'more' {
  if (bytes.length < 2) return 'more';
  const pps0 = bytes[1]!;
  return 3 + ((pps0 >> 4) & 1) + ((pps0 >> 5) & 1) + ((pps0 >> 6) & 1);
}

export interface DecodedPps {
  protocol: number;
  ta1?: number;
}

/** A well-formed PPS message (PPSS, length, PCK checked), or undefined. */
export function decodePps(bytes: Uint8Array): DecodedPps | undefined {
  const length = ppsLength(bytes);
  if (length === 'more' || bytes.length !== length || bytes[0] !== PPSS) return undefined;
  if (bytes.reduce((x, b) => x ^ b, 0) !== 0) return undefined;
  const pps0 = bytes[1]!;
  return { protocol: pps0 & 0x0f, ...(pps0 & 0x10 ? { ta1: bytes[2]! } : {}) };
}

export type PpsOutcome = 'accepted' | 'declined' | 'failed';

/** §9.3: what the card's answer means for a request. */
export function ppsOutcome(request: PpsRequest, response: Uint8Array): PpsOutcome {
  const r = decodePps(response);
  if (!r || r.protocol !== request.protocol) return 'failed';
  if (r.ta1 === undefined) return 'declined';
  return r.ta1 === request.ta1 && Buffer.from(response).equals(encodePps(request)) ? 'accepted' : 'failed';
}

/** The card's side: the answer to a request, for how the card is set to behave. */
export function answerPps(request: DecodedPps, accept: (ta1: number) => boolean): Buffer {
  if (request.ta1 !== undefined && accept(request.ta1)) return encodePps({ protocol: request.protocol, ta1: request.ta1 });
  const pps0 = request.protocol & 0x0f;
  return Buffer.from([PPSS, pps0, PPSS ^ pps0]);
}
