/**
 * The card's retry counters (PIN1, PIN2, PUK, admin key) in a small file of
 * their own beside the image, `<image>.counters`, so that counting a PIN try
 * does not rewrite the whole image (JSON, checksum, private key export, temp
 * file, rename): a counted try is one 32-byte pwrite(2) and one fdatasync.
 * This is what a real card does with its EEPROM: the hot counters sit in a
 * cell of their own, written in place with anti-tearing (PROTOCOL.md,
 * "Anti-tearing").
 *
 * Two slots of 32 bytes, written alternately, so a write torn by power loss
 * can only damage the slot being written, never the last good one:
 *
 *     0  'HGC1'            magic
 *     4  seq      u32 BE   commit number, shared with the image's commitSeq
 *     8  cardId   8 bytes  the card it belongs to (a stale file of another card is ignored)
 *    16  pin1, pin2, puk, admin: tries left, one byte each (0xFF: that PIN is not set)
 *    20  8 zero bytes
 *    28  CRC-32 (ISO 3309, as zlib) of bytes 0..27, u32 BE
 *
 * A slot whose magic or CRC does not check is a torn write (or a slot never
 * written) and is ignored. The image also carries the counters as of its own
 * commit; on load the newest valid slot is applied only when its seq is
 * higher than the image's (card-image.ts).
 */
import { closeSync, constants, fchmodSync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import { readFile, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';
import { fsyncDirectory, isErrno } from '../base/durable/atomic-file.js';

export const SLOT_BYTES = 32;
const MAGIC = Buffer.from('HGC1', 'latin1');
const NOT_SET = 0xff;
const FILE_MODE = 0o600;

/** Tries left per counter; null for a PIN that is not set. */
export interface CounterValues {
  pin1: number | null;
  pin2: number | null;
  puk: number | null;
  admin: number;
}

export interface CounterSlot {
  seq: number;
  cardId: Buffer;
  values: CounterValues;
}

/** The newest valid slot of the file and its index, or null when none checks. */
export interface CounterFileState {
  latest: { slot: CounterSlot; index: 0 | 1 } | null;
}

export function counterFilePath(imagePath: string): string {
  return `${imagePath}.counters`;
}

export function encodeSlot(slot: CounterSlot): Buffer {
  const b = Buffer.alloc(SLOT_BYTES);
  MAGIC.copy(b, 0);
  b.writeUInt32BE(slot.seq >>> 0, 4);
  slot.cardId.copy(b, 8, 0, 8);
  const { pin1, pin2, puk, admin } = slot.values;
  for (const [i, v] of [pin1, pin2, puk, admin].entries()) b.writeUInt8(v ?? NOT_SET, 16 + i);
  b.writeUInt32BE(crc32(b.subarray(0, 28)), 28);
  return b;
}

/** The slot in `b` (32 bytes), or null when it is torn or was never written. */
export function decodeSlot(b: Buffer): CounterSlot | null {
  if (b.length !== SLOT_BYTES || !b.subarray(0, 4).equals(MAGIC)) return null;
  if (crc32(b.subarray(0, 28)) !== b.readUInt32BE(28)) return null;
  const byte = (i: number) => b.readUInt8(16 + i);
  const pin = (i: number) => (byte(i) === NOT_SET ? null : byte(i));
  return { seq: b.readUInt32BE(4), cardId: Buffer.from(b.subarray(8, 16)), values: { pin1: pin(0), pin2: pin(1), puk: pin(2), admin: byte(3) } };
}

/** Reads the counter file (a missing file has no slots) and picks the newest valid slot for `cardId`. */
export async function readCounterFile(path: string, cardId: Buffer): Promise<CounterFileState> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return { latest: null };
    throw e;
  }
  let latest: CounterFileState['latest'] = null;
  for (const index of [0, 1] as const) {
    const slot = decodeSlot(data.subarray(index * SLOT_BYTES, (index + 1) * SLOT_BYTES));
    if (slot === null || !slot.cardId.equals(cardId)) continue;
    if (latest === null || slot.seq > latest.slot.seq) latest = { slot, index };
  }
  return { latest };
}

/**
 * Writes `slot` at `index` and fdatasyncs: durable when it resolves. The
 * file is created (0600) on the first write, and its directory fsynced then,
 * so the name survives power loss too.
 *
 * Synchronous system calls, on purpose: the card is busy while it writes
 * its memory, as a real card is during an EEPROM write (it answers nothing
 * else meanwhile anyway: the applet runs one command at a time). Four calls
 * through libuv's pool cost three times the CPU of the writes themselves,
 * and this runs twice per PIN try.
 */
export async function writeCounterSlot(path: string, index: 0 | 1, slot: CounterSlot): Promise<void> {
  const bytes = encodeSlot(slot);
  let created = false;
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR);
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) throw e;
    fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, FILE_MODE);
    created = true;
  }
  try {
    if (created) fchmodSync(fd, FILE_MODE); // the open mode is masked by umask
    writeSync(fd, bytes, 0, bytes.length, index * SLOT_BYTES);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
  if (created) await fsyncDirectory(dirname(path));
}

/** Removes the counter file (a new card starts from its image alone). */
export async function removeCounterFile(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) throw e;
  }
}
