/**
 * A snapshot of the gateway's data directory (`homegate backup`), and
 * writing one back into a fresh directory (`homegate restore`).
 *
 * Consistency while the gateway runs: the snapshot is taken by the gateway
 * itself (admin route POST /admin/backup/snapshot) while it holds the card
 * (CardService.paused), so no card command, and so no new money decision,
 * runs during the copy. Each file is read whole, once:
 * - JSON state (registry.json, gateway.json, broker users) is only ever
 *   replaced atomically (rename), so a read sees one whole version;
 * - record logs (history, payment and load intents, outbox) are append-only:
 *   the copy is a prefix of the log, and a record half-appended at that
 *   moment is a torn tail that the restored gateway cuts at open
 *   (card-io/base/durable/record-log.ts);
 * - what the card decided that a copied archive lacks, the restored gateway
 *   reads back from the card's own log at start (emoney-reconciler.ts), as
 *   after any crash. The card is authoritative for money: the balance is on
 *   it, not in the snapshot.
 *
 * Left out: the admin socket, temporary files of atomic writes, and files
 * `doctor --repair` moved aside (`*.corrupt-*`).
 */
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { ensureDirectory, fsyncDirectory, writeFileDurably } from '../../card-io/base/durable/atomic-file.js';
import { BackupError } from './backup-error.js';

export const SNAPSHOT_VERSION = 1;
/** A household's data directory is small; anything larger is not one (and would not fit one JSON answer). */
export const MAX_SNAPSHOT_BYTES = 256 * 1024 * 1024;

export interface SnapshotFile {
  /** Relative to the data directory, '/'-separated. */
  path: string;
  mode: number;
  /** base64. */
  data: string;
}

export interface DataSnapshot {
  version: typeof SNAPSHOT_VERSION;
  /** ISO time the snapshot was taken. */
  created: string;
  files: SnapshotFile[];
}

function skipped(name: string, rel: string, adminSocket: string): boolean {
  return rel === adminSocket || name.includes('.corrupt-') || /\.tmp(-|$)/.test(name) || name.startsWith('.tmp');
}

export async function takeSnapshot(dataDir: string, adminSocket = 'gateway.sock', now = new Date()): Promise<DataSnapshot> {
  const files: SnapshotFile[] = [];
  let total = 0;
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, e.name);
      const rel = relative(dataDir, full).split(sep).join('/');
      if (skipped(e.name, rel, adminSocket)) continue;
      if (e.isDirectory()) await walk(full);
      else if (e.isFile()) {
        const [data, st] = await Promise.all([readFile(full), lstat(full)]);
        total += data.length;
        if (total > MAX_SNAPSHOT_BYTES)
          throw new BackupError('too-large', `The data directory holds more than ${MAX_SNAPSHOT_BYTES} bytes; is it a gateway's?`);
        files.push({ path: rel, mode: st.mode & 0o777, data: data.toString('base64') });
      }
    }
  };
  await walk(dataDir);
  return { version: SNAPSHOT_VERSION, created: now.toISOString(), files };
}

/** Only relative paths that stay inside the directory: a forged backup must not write elsewhere. */
function safePath(p: unknown): string {
  if (typeof p !== 'string' || p === '' || p.startsWith('/') || p.split('/').some((s) => s === '..' || s === '' || s === '.')) {
    throw new BackupError('invalid', 'The backup names a file outside the data directory; refusing it');
  }
  return p;
}

/** Writes every file of `snapshot` into `dataDir`, which must be empty or absent; files durably, keys keep their 0600. */
export async function restoreSnapshot(snapshot: DataSnapshot, dataDir: string): Promise<{ files: number }> {
  if (snapshot.version !== SNAPSHOT_VERSION || !Array.isArray(snapshot.files)) throw new BackupError('invalid', 'Not a homegate backup of a known version');
  // Every path checked before the first write: a refused backup leaves the directory as it was (still fresh, so
  // another backup can be restored there), not half-written.
  for (const f of snapshot.files) safePath(f?.path);
  await ensureDirectory(dataDir, 0o700);
  if ((await readdir(dataDir)).length > 0) {
    throw new BackupError(
      'target-not-empty',
      `${dataDir} is not empty: restore into a fresh data directory, or with --replace, which puts the directory that is there aside (a gateway's state is never merged)`,
    );
  }
  const dirs = new Set<string>([dataDir]);
  for (const f of snapshot.files) {
    const rel = safePath(f.path);
    const full = join(dataDir, ...rel.split('/'));
    const parent = join(full, '..');
    if (!dirs.has(parent)) {
      await ensureDirectory(parent, 0o700);
      dirs.add(parent);
    }
    // Never wider than the original, and never wider than 0644.
    const mode = typeof f.mode === 'number' ? f.mode & 0o644 : 0o600;
    await writeFileDurably(full, Buffer.from(f.data, 'base64'), mode);
  }
  for (const d of dirs) await fsyncDirectory(d);
  return { files: snapshot.files.length };
}
