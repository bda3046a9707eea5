/** What the outbox log on disk says is pending, read the way the outbox reads it (outbox-log.ts), without opening an Outbox. */
import { join } from 'node:path';
import { scanRecordLog } from '../../card-io/base/durable/record-log.js';
import { OUTBOX_LOG, OutboxState, parseOutboxRecord, type ChannelName } from '../../gateway/notify/outbox-log.js';

/** Pending notification ids of `<dataDir>/outbox/outbox.log`, oldest first, with their pending channels. */
export async function pendingOnDisk(dataDir: string): Promise<Map<string, ChannelName[]>> {
  const state = new OutboxState(Number.MAX_SAFE_INTEGER);
  for (const r of (await scanRecordLog(join(dataDir, 'outbox', OUTBOX_LOG))).records) state.apply(parseOutboxRecord(r));
  return new Map(state.ordered().map((e) => [e.notification.id, [...e.pending]]));
}

/** Pending notification ids on disk, oldest first. */
export async function pendingIdsOnDisk(dataDir: string): Promise<string[]> {
  return [...(await pendingOnDisk(dataDir)).keys()];
}
