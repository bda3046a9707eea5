/**
 * T=1 blocks (ISO/IEC 7816-3:2006 §11.3): prologue NAD PCB LEN, information
 * field INF (0..254 bytes), epilogue EDC. The PCB says the block type (§11.3.2.2):
 *
 *   I-block  0 N(S) M 0 0 0 0 0        information, N(S) send sequence, M more data
 *   R-block  1 0 0 N(R) e e e e        receive ready; eeee 0 ok, 1 EDC error, 2 other error
 *   S-block  1 1 r t t t t t           supervisory; r = response; t: 0 RESYNCH,
 *                                      1 IFS, 2 ABORT, 3 WTX, 4 VPP error
 */
import { CardError, CardErrorCode } from '../errors.js';
import { computeEdc, type EdcKind } from './edc.js';

export const MAX_INF = 254;
export const DEFAULT_IFS = 32;

export type SeqNo = 0 | 1;
export type RError = 'none' | 'edc' | 'other';
export type SType = 'RESYNCH' | 'IFS' | 'ABORT' | 'WTX' | 'VPP';

export interface IBlock {
  readonly kind: 'I';
  readonly ns: SeqNo;
  readonly more: boolean;
  readonly inf: Buffer;
}
export interface RBlock {
  readonly kind: 'R';
  readonly nr: SeqNo;
  readonly error: RError;
}
export interface SBlock {
  readonly kind: 'S';
  readonly type: SType;
  readonly response: boolean;
  readonly inf: Buffer;
}
export type Block = IBlock | RBlock | SBlock;

const S_TYPES: readonly SType[] = ['RESYNCH', 'IFS', 'ABORT', 'WTX', 'VPP'];
const R_ERRORS: readonly RError[] = ['none', 'edc', 'other'];

export const iBlock = (ns: SeqNo, more: boolean, inf: Uint8Array | number[]): IBlock => ({
  kind: 'I',
  ns,
  more,
  inf: Buffer.from(inf),
});
export const rBlock = (nr: SeqNo, error: RError = 'none'): RBlock => ({ kind: 'R', nr, error });
export const sBlock = (type: SType, response: boolean, inf: Uint8Array | number[] = []): SBlock => ({
  kind: 'S',
  type,
  response,
  inf: Buffer.from(inf),
});

export function encodePcb(block: Block): number {
  switch (block.kind) {
    case 'I':
      return (block.ns << 6) | (block.more ? 0x20 : 0);
    case 'R':
      return 0x80 | (block.nr << 4) | R_ERRORS.indexOf(block.error);
    case 'S':
      return 0xc0 | (block.response ? 0x20 : 0) | S_TYPES.indexOf(block.type);
  }
}

function infOf(block: Block): Buffer {
  return block.kind === 'R' ? Buffer.alloc(0) : block.inf;
}

/** Encode a block with its prologue and epilogue. */
export function encodeBlock(block: Block, nad: number, edc: EdcKind): Buffer {
  const inf = infOf(block);
  if (inf.length > MAX_INF) {
    throw new CardError(CardErrorCode.BlockMalformed, `INF of ${inf.length} bytes exceeds ${MAX_INF}`);
  }
  const body = Buffer.concat([Buffer.from([nad, encodePcb(block), inf.length]), inf]);
  return Buffer.concat([body, computeEdc(edc, body)]);
}

/**
 * Decode PCB + INF into a block, or say why it is invalid (§11.3.2.2 and the
 * S-block INF sizes of §11.4: IFS and WTX carry one byte, the others none).
 */
export function decodeBlock(pcb: number, inf: Buffer): Block | { invalid: string } {
  if ((pcb & 0x80) === 0) {
    if (pcb & 0x1f) return { invalid: 'reserved I-block PCB bits set' };
    return { kind: 'I', ns: ((pcb >> 6) & 1) as SeqNo, more: (pcb & 0x20) !== 0, inf };
  }
  if ((pcb & 0xc0) === 0x80) {
    const err = pcb & 0x0f;
    if (pcb & 0x20 || err > 2) return { invalid: 'reserved R-block PCB bits set' };
    if (inf.length !== 0) return { invalid: 'R-block with an information field' };
    return { kind: 'R', nr: ((pcb >> 4) & 1) as SeqNo, error: R_ERRORS[err]! };
  }
  const t = pcb & 0x1f;
  if (t > 4) return { invalid: 'unknown S-block type' };
  const type = S_TYPES[t]!;
  const wantLen = type === 'IFS' || type === 'WTX' ? 1 : 0;
  if (inf.length !== wantLen) return { invalid: `S(${type}) with ${inf.length} INF bytes` };
  if (type === 'IFS' && (inf[0]! < 1 || inf[0]! > MAX_INF)) return { invalid: 'IFS out of 1..254' };
  if (type === 'WTX' && inf[0] === 0) return { invalid: 'WTX multiplier of zero' };
  return { kind: 'S', type, response: (pcb & 0x20) !== 0, inf };
}

/** For logs: "I(0,M) 32B", "R(1,edc)", "S(WTX req 2)". Never the INF content. */
export function describeBlock(block: Block): string {
  switch (block.kind) {
    case 'I':
      return `I(${block.ns}${block.more ? ',M' : ''}) ${block.inf.length}B`;
    case 'R':
      return `R(${block.nr}${block.error === 'none' ? '' : ',' + block.error})`;
    case 'S':
      return `S(${block.type} ${block.response ? 'resp' : 'req'}${block.inf.length ? ' ' + block.inf[0] : ''})`;
  }
}
