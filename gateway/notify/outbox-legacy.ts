/**
 * The outbox formats of earlier versions, read once so the outbox can carry
 * them into its record log (outbox-log.ts):
 *
 * - one JSON file per pending notification, `<sha256(id)[0..32]>.json`
 *   (`{version: 1, notification, enqueuedAt, order, pending, done}`), plus a
 *   `.json.tmp` left by a first write that never finished (its enqueue never
 *   resolved, so nobody was told it was queued: dropped);
 * - the delivered journal: `delivered.json` (`{version: 1, ids}`, a snapshot)
 *   and `delivered.log` (one `<id>\n` per delivery; a torn last line, a crash
 *   mid-append, never counted).
 *
 * An entry file that does not parse is moved aside to `<name>.corrupt`, never
 * deleted: it may be the only copy of a notification; so is a damaged
 * `delivered.json` (kept for inspection).
 */
import { readdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { readFileIfExists } from '../../card-io/base/durable/atomic-file.js';
import type { Logger } from '../../card-io/base/log.js';
import { CHANNEL_NAMES, type ChannelName } from './outbox-log.js';
import { notificationSchema, type Notification } from './notification.js';

export const LEGACY_ENTRY_FILE = /^[0-9a-f]{32}\.json$/;
const LEGACY_TEMP_FILE = /^[0-9a-f]{32}\.json\.tmp$/;
const DELIVERED_FILES = ['delivered.json', 'delivered.json.tmp', 'delivered.log'];

const entrySchema = z.strictObject({
  version: z.literal(1),
  notification: notificationSchema,
  enqueuedAt: z.iso.datetime(),
  order: z.number().int().min(0),
  pending: z.array(z.enum(CHANNEL_NAMES)),
  done: z.array(z.enum(CHANNEL_NAMES)),
});
const snapshotSchema = z.object({ version: z.literal(1), ids: z.array(z.string()) });

export interface LegacyOutbox {
  /** Notifications still pending on some channel, in their enqueue order. */
  entries: { notification: Notification; enqueuedAt: string; pending: ChannelName[] }[];
  /** Delivered ids, oldest first (entry files with nothing pending included). */
  delivered: string[];
  /** The old files to remove once their content is durable in the log. */
  files: string[];
}

/** Reads what earlier versions left in `dir`; null when there is nothing. */
export async function readLegacyOutbox(dir: string, logger: Logger): Promise<LegacyOutbox | null> {
  const names = await readdir(dir);
  const found: LegacyOutbox = { entries: [], delivered: [], files: [] };
  const snapshotPath = join(dir, 'delivered.json');
  const snapshot = await readFileIfExists(snapshotPath);
  if (snapshot !== undefined) {
    try {
      found.delivered.push(...snapshotSchema.parse(JSON.parse(snapshot)).ids);
    } catch (e) {
      // Only a memory against duplicates (receivers drop those by id), never a notification: kept for inspection.
      logger.error({ path: snapshotPath, err: (e as Error).message }, 'Unreadable delivered journal moved aside to .corrupt');
      await rename(snapshotPath, `${snapshotPath}.corrupt`);
      names.splice(names.indexOf('delivered.json'), 1);
    }
  }
  const log = await readFileIfExists(join(dir, 'delivered.log'));
  if (log !== undefined) {
    const complete = log.slice(0, log.lastIndexOf('\n') + 1); // a torn last line never counted
    found.delivered.push(...complete.split('\n').filter((line) => line !== ''));
  }
  for (const name of DELIVERED_FILES) if (names.includes(name)) found.files.push(join(dir, name));

  const entries: (z.infer<typeof entrySchema> & { path: string })[] = [];
  for (const name of names) {
    const path = join(dir, name);
    if (LEGACY_TEMP_FILE.test(name)) found.files.push(path);
    if (!LEGACY_ENTRY_FILE.test(name)) continue;
    let entry: z.infer<typeof entrySchema>;
    try {
      entry = entrySchema.parse(JSON.parse(await readFile(path, 'utf8')));
    } catch (e) {
      logger.error({ path, err: (e as Error).message }, 'Unreadable outbox entry moved aside to .corrupt');
      await rename(path, `${path}.corrupt`);
      continue;
    }
    entries.push({ ...entry, path });
    found.files.push(path);
  }
  for (const e of entries.sort((a, b) => a.order - b.order)) {
    if (e.pending.length === 0)
      found.delivered.push(e.notification.id); // the crash came before its removal
    else found.entries.push({ notification: e.notification, enqueuedAt: e.enqueuedAt, pending: e.pending });
  }
  return found.files.length > 0 ? found : null;
}
