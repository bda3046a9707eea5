/**
 * A bundle's file modes (issue 12: files 0600, folders 0700): nothing in a
 * flashed gateway is readable by anyone but its owner, the service user (the
 * first-boot script hands it over). The only files that must be executable,
 * the Node.js binary and the shell scripts, are 0700. Symbolic links are left
 * alone (their mode means nothing on Linux).
 */
import { chmod, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;
export const EXEC_MODE = 0o700;

/** Sets every mode below `dir` (and dir itself); `isExecutable` gets the path relative to `dir`. */
export async function restrictModes(dir: string, isExecutable: (relative: string) => boolean, relative = ''): Promise<void> {
  await chmod(dir, DIR_MODE);
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const rel = relative ? `${relative}/${e.name}` : e.name;
    const p = join(dir, e.name);
    if (e.isDirectory()) await restrictModes(p, isExecutable, rel);
    else if (e.isFile()) await chmod(p, isExecutable(rel) ? EXEC_MODE : FILE_MODE);
  }
}

/** Every regular file and folder below `dir` with its mode, relative paths (for tests and `--json`). */
export async function listModes(dir: string, relative = ''): Promise<Array<{ path: string; type: 'file' | 'dir'; mode: number }>> {
  const out: Array<{ path: string; type: 'file' | 'dir'; mode: number }> = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const rel = relative ? `${relative}/${e.name}` : e.name;
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      out.push({ path: rel, type: 'dir', mode: (await lstat(p)).mode & 0o7777 });
      out.push(...(await listModes(p, rel)));
    } else if (e.isFile()) out.push({ path: rel, type: 'file', mode: (await lstat(p)).mode & 0o7777 });
  }
  return out;
}
