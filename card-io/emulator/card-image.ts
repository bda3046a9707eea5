/**
 * The card's persistent memory: an image file, replaced atomically so that
 * power loss mid-write ("tearing") leaves the old or the new state, never a mix
 * (docs/ARCHITECTURE.md, state and durability), and beside it the retry
 * counters' own small file (counter-file.ts): a commit that changes only tries
 * left (a counted PIN try and its restore, counted-check.ts) writes one
 * 32-byte slot there instead of the whole image. Every commit takes the next
 * commit number; the image records the one it was written at, each counter
 * slot its own, and on load the newer counters win.
 *
 * A commit writes `<image>.tmp` in the same directory, fsyncs it, renames it
 * over the image and fsyncs the directory (rename(2) is atomic within one file
 * system; the directory fsync makes the rename itself durable). Only then does
 * `commit` resolve, and only then does the applet answer. The file is mode
 * 0600: it holds the card's private key. A `.tmp` left behind by a kill never
 * became the image and is removed on load.
 */
import { randomBytes } from 'node:crypto';
import { chmod, link, lstat, mkdir, readFile, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CardError, CardErrorCode } from '../errors.js';
import { fsyncDirectory, isErrno, replaceFileAtomically, writeFileDurably } from '../base/durable/atomic-file.js';
import { silentLogger, type Logger } from '../base/log.js';
import { ADMIN_KEY_LENGTH, CARD_ID_LENGTH, factoryFreshState, type CardState } from './card-state.js';
import type { CardStore } from './card-store.js';
import { changesCountersOnly, countersOf, withStoredCounters } from './card-counters.js';
import { counterFilePath, readCounterFile, removeCounterFile, writeCounterSlot } from './counter-file.js';
import { decodeImageFile, encodeImage } from './image-codec.js';

const FILE_MODE = 0o600;

export interface CardImage extends CardStore {
  readonly path: string;
}

export interface CreateCardImageOptions {
  /** 8 bytes; default random. */
  cardId?: Buffer;
  /** 32 bytes; default random. Returned so the caller can show or save it once. */
  adminKey?: Buffer;
  logger?: Logger;
}

export interface CreatedCardImage {
  image: CardImage;
  cardId: Buffer;
  adminKey: Buffer;
}

function tempPath(path: string): string {
  return `${path}.tmp`;
}

async function replaceAtomically(path: string, bytes: Buffer): Promise<void> {
  await replaceFileAtomically(path, bytes, { mode: FILE_MODE, tempPath: tempPath(path) });
}

/** Where the store stands: the last commit number and the counter slot last written (the next goes to the other). */
interface StoreCursor {
  commitSeq: number;
  slot: 0 | 1 | null;
}

function imageStore(path: string, initial: CardState, cursor: StoreCursor): CardImage {
  let state = initial;
  let { commitSeq, slot } = cursor;
  const counters = counterFilePath(path);
  // Commits are serialized: a later commit never overtakes an earlier one on disk.
  let queue: Promise<unknown> = Promise.resolve();
  return {
    path,
    get state() {
      return state;
    },
    commit(next: CardState): Promise<void> {
      const run = queue.then(async () => {
        // A commit number is never reused, even by a failed write that may have reached the disk.
        const seq = ++commitSeq;
        if (changesCountersOnly(state, next)) {
          // The other slot than the last good one; after a failure the same slot again, so the last good one stays.
          const index = slot === 0 ? 1 : 0;
          await writeCounterSlot(counters, index, { seq, cardId: next.cardId, values: countersOf(next) });
          slot = index;
        } else {
          await replaceAtomically(path, encodeImage(next, seq));
        }
        state = next;
      });
      queue = run.catch(() => undefined);
      return run;
    },
  };
}

/**
 * The state a card image holds: the image file, with the counter file's
 * newest slot applied when it is newer than the image. What the emulator
 * loads; also for tests that look at a card's memory from outside.
 */
export async function readCardImageState(path: string): Promise<CardState> {
  return (await readImage(path)).state;
}

async function readImage(path: string): Promise<{ state: CardState; cursor: StoreCursor }> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) throw new CardError(CardErrorCode.ImageMissing, 'No card image', { path });
    throw e;
  }
  const image = decodeImageFile(bytes);
  const { latest } = await readCounterFile(counterFilePath(path), image.state.cardId);
  if (latest === null) return { state: image.state, cursor: { commitSeq: image.commitSeq, slot: null } };
  const newer = latest.slot.seq > image.commitSeq;
  return {
    state: newer ? withStoredCounters(image.state, latest.slot.values) : image.state,
    cursor: { commitSeq: Math.max(image.commitSeq, latest.slot.seq), slot: latest.index },
  };
}

/**
 * Create the image of a factory-fresh card. Throws CardError(ImageExists) if
 * a file is already there: an existing card is never overwritten (the link(2)
 * that publishes the new file fails atomically when the name is taken).
 */
export async function createCardImage(path: string, opts: CreateCardImageOptions = {}): Promise<CreatedCardImage> {
  const cardId = opts.cardId ?? randomBytes(CARD_ID_LENGTH);
  const adminKey = opts.adminKey ?? randomBytes(ADMIN_KEY_LENGTH);
  if (cardId.length !== CARD_ID_LENGTH) {
    throw new CardError(CardErrorCode.InvalidArgument, 'cardId must be 8 bytes', { length: cardId.length });
  }
  if (adminKey.length !== ADMIN_KEY_LENGTH) {
    throw new CardError(CardErrorCode.InvalidArgument, 'adminKey must be 32 bytes', { length: adminKey.length });
  }
  const state = factoryFreshState(Buffer.from(cardId), Buffer.from(adminKey));
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = tempPath(path);
  try {
    await writeFileDurably(tmp, encodeImage(state), FILE_MODE);
    await link(tmp, path);
  } catch (e) {
    if (isErrno(e, 'EEXIST')) throw new CardError(CardErrorCode.ImageExists, 'A card image already exists', { path });
    throw e;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  // A counter file left by an earlier card at this path: its slots name that card and would be ignored; removed all the same.
  await removeCounterFile(counterFilePath(path));
  await fsyncDirectory(dirname(path));
  (opts.logger ?? silentLogger).info({ path, cardId: cardId.toString('hex') }, 'Card image created');
  return { image: imageStore(path, state, { commitSeq: 0, slot: null }), cardId: state.cardId, adminKey: state.adminKey };
}

/**
 * Load an existing image. Throws CardError(ImageMissing) when there is none
 * and CardError(ImageCorrupt) when it fails its checksum or checks.
 */
export async function loadCardImage(path: string, opts: { logger?: Logger } = {}): Promise<CardImage> {
  const logger = opts.logger ?? silentLogger;
  const tmp = tempPath(path);
  try {
    await unlink(tmp);
    logger.warn({ path: tmp }, 'Removed a stale card image temp file (an interrupted write)');
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) throw e;
  }
  const { state, cursor } = await readImage(path);
  const st = await lstat(path);
  if ((st.mode & 0o077) !== 0) {
    logger.warn({ path, mode: (st.mode & 0o777).toString(8) }, 'Card image was readable by others; set to 0600');
    await chmod(path, FILE_MODE);
  }
  return imageStore(path, state, cursor);
}
