/**
 * Durable, atomic file replacement, the one way homegate writes state that
 * must survive power loss: the card image, the registry, the history, the
 * outbox. Write a temp file in the same directory, fsync it, rename it over
 * the target (atomic within one file system), fsync the directory (so the
 * rename itself survives). A crash leaves the old or the new file, never a
 * mix; a leftover temp file never became the target.
 *
 * Beside it the few other durable steps homegate needs, so there is one
 * place for them: a created directory, a removed file and an exclusively
 * created file whose directory entries survive power loss (fsync of the
 * directory: a rename, create or unlink is only durable once its directory
 * is, fsync(2) NOTES).
 */
import { mkdir, open, readFile, rename as fsRename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

export function isErrno(e: unknown, code: string): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === code;
}

/** A file's text, or undefined when it does not exist; any other error is thrown. */
export async function readFileIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return undefined;
    throw e;
  }
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

/**
 * Creates `dir` and its parents with `mode` (default 0700: what we keep is
 * secret or personal) and fsyncs the parent of the first one created.
 */
export async function ensureDirectory(dir: string, mode = 0o700): Promise<void> {
  const created = await mkdir(dir, { recursive: true, mode });
  if (created !== undefined) await fsyncDirectory(dirname(created));
}

/** Removes the file (a missing one is fine) and fsyncs its directory so the removal survives. */
export async function removeDurably(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return;
    throw e;
  }
  await fsyncDirectory(dirname(path));
}

/**
 * Creates `path` exclusively (O_EXCL: EEXIST when the name is taken, so a
 * file is never replaced), sets `mode` explicitly (the open mode is masked by
 * umask), writes `data` and fsyncs it. The caller fsyncs the directory once
 * after its last file (fsyncDirectory).
 */
export async function createFileExclusive(path: string, data: Uint8Array | string, mode: number): Promise<void> {
  const fh = await open(path, 'wx', mode);
  try {
    await fh.chmod(mode);
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}
