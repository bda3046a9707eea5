/**
 * Durable, atomic file replacement, the one way homegate writes state that
 * must survive power loss: the card image, the registry, the history, the
 * outbox. Write a temp file in the same directory, fsync it, rename it over
 * the target (atomic within one file system), fsync the directory (so the
 * rename itself survives). A crash leaves the old or the new file, never a
 * mix; a leftover temp file never became the target.
 */
import { open, rename as fsRename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

export function isErrno(e: unknown, code: string): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === code;
}

export async function fsyncDirectory(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export interface ReplaceOptions {
  /** File mode of the result. Default 0600: most of what we write is secret or personal. */
  mode?: number;
  /** Temp file path. Default `<path>.tmp`. */
  tempPath?: string;
  /** Fault-injection seam for tests (a failing rename is a crash before the switch). Default fs.rename. */
  rename?: (from: string, to: string) => Promise<void>;
}

/** Write `data` to `path` (created or truncated, `mode`) and fsync it. Not atomic by itself. */
export async function writeFileDurably(path: string, data: Uint8Array | string, mode = 0o600): Promise<void> {
  const fh = await open(path, 'w', mode);
  try {
    await fh.chmod(mode); // the open mode is masked by umask and ignored for an existing file
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function replaceFileAtomically(path: string, data: Uint8Array | string, o: ReplaceOptions = {}): Promise<void> {
  const tmp = o.tempPath ?? `${path}.tmp`;
  try {
    await writeFileDurably(tmp, data, o.mode ?? 0o600);
    await (o.rename ?? fsRename)(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fsyncDirectory(dirname(path));
}
