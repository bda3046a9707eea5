/**
 * `<registry>.witness`: an empty file created (durably) once the registry
 * file has been written. A registry file that is missing while its witness
 * exists was deleted or lost behind the gateway's back: opening it as an
 * empty registry would silently forget every enrolled terminal and market,
 * so that is RegistryError('missing') instead. A first start (neither file)
 * is an empty registry, as before.
 */
import { open, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fsyncDirectory, isErrno } from '../../card-io/base/durable/atomic-file.js';
import { RegistryError } from './registry-error.js';

const exists = (path: string) =>
  stat(path).then(
    () => true,
    (e: unknown) => {
      if (isErrno(e, 'ENOENT')) return false;
      throw e;
    },
  );

export function witnessPath(registryPath: string): string {
  return `${registryPath}.witness`;
}

/** RegistryError('missing') when the registry file is gone but was written before. */
export async function checkRegistryPresent(registryPath: string): Promise<void> {
  if (!(await exists(registryPath)) && (await exists(witnessPath(registryPath)))) {
    const message = 'The registry file is missing but was written before; restore it from a backup (it is never replaced by an empty one)';
    throw new RegistryError('missing', message, { path: registryPath });
  }
}

/** Creates the witness if the registry file exists and the witness does not. Resolves to true once it exists. */
export async function witnessRegistry(registryPath: string): Promise<boolean> {
  if (await exists(witnessPath(registryPath))) return true;
  if (!(await exists(registryPath))) return false;
  const fh = await open(witnessPath(registryPath), 'a', 0o600);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsyncDirectory(dirname(registryPath));
  return true;
}
