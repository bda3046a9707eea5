/**
 * Reading a file that holds a secret (a private key, a password, the card's
 * admin key): only a regular file, not through a symbolic link, and only when
 * no one but its owner may read it (mode 0600 or stricter). A key file that
 * the group or others can read is refused, as OpenSSH refuses a private key:
 * the secret may already be out, and silently using it hides that.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { CodedError } from '../coded-error.js';

export type SecretFileErrorCode = 'exposed' | 'not-a-file' | 'unreadable';

export class SecretFileError extends CodedError<SecretFileErrorCode, { path: string; mode?: string }> {
  readonly family = 'secret-file';
  override readonly name = 'SecretFileError';
}

export async function readSecretFile(path: string): Promise<Buffer> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new SecretFileError('not-a-file', `${path} is a symbolic link; a secret is read only from a regular file`, { path });
    throw new SecretFileError('unreadable', `Cannot read ${path} (${code ?? 'error'})`, { path }, { cause: e });
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new SecretFileError('not-a-file', `${path} is not a regular file`, { path });
    const mode = stat.mode & 0o777;
    if ((mode & 0o077) !== 0) {
      const octal = `0${mode.toString(8)}`;
      throw new SecretFileError(
        'exposed',
        `${path} holds a secret but its mode is ${octal}: others may read it; chmod 600 it (and replace the secret if it may have leaked)`,
        {
          path,
          mode: octal,
        },
      );
    }
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}
