/**
 * `homegate backup --out F` and `homegate restore F`
 * (gateway/backup/: docs/PROVISIONING.md, backup and restore).
 *
 * Backup asks the running gateway for a consistent snapshot of its data
 * directory over the admin socket, and encrypts it here: the passphrase never
 * reaches the gateway. Restore writes a backup into a fresh data directory
 * (the gateway stopped); started there with the same card, the gateway is the
 * same household.
 *
 * The passphrase is asked on the TTY (twice for a backup), or read from stdin
 * lines in that order; never argv or the environment.
 */
import type { Command } from 'commander';
import { createFileExclusive, isErrno } from '../../card-io/base/durable/atomic-file.js';
import { adminRequest, adminSocketPath, gatewayAnswers } from './admin-client.js';
import { resolveDataDir } from './data-dir.js';
import { createSecretReader } from './read-secret.js';

function print(json: boolean, value: unknown, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${text}\n`);
}

export function registerBackupCommands(program: Command): void {
  const dataDir = () => resolveDataDir(program.opts<{ data?: string }>().data);

  program
    .command('backup')
    .description("an encrypted, consistent snapshot of the running gateway's data directory (keys, registry, archive)")
    .requiredOption('--out <file>', 'the backup file to create (0600; an existing file is not replaced)')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nAsks on the TTY, or reads from stdin one per line:\n  1. a passphrase (at least 10 characters)\n  2. the passphrase again')
    .action(async (f: { out: string; json?: boolean }) => {
      const { BackupError } = await import('../backup/backup-error.js');
      const { encryptBackup, MIN_PASSPHRASE } = await import('../backup/backup-cipher.js');
      const reader = createSecretReader();
      let passphrase: string;
      try {
        passphrase = await reader.read('Backup passphrase');
        if (passphrase.length < MIN_PASSPHRASE)
          throw new BackupError('passphrase', `The passphrase needs at least ${MIN_PASSPHRASE} characters; nothing was written`);
        if ((await reader.read('The passphrase again')) !== passphrase) throw new BackupError('passphrase', 'The passphrases differ; nothing was written');
      } finally {
        reader.close();
      }
      const answer = await adminRequest(adminSocketPath(dataDir()), 'POST', '/admin/backup/snapshot', {});
      const snapshot = answer.snapshot as import('../backup/data-snapshot.js').DataSnapshot;
      try {
        await createFileExclusive(f.out, encryptBackup(snapshot, passphrase), 0o600);
      } catch (e) {
        if (isErrno(e, 'EEXIST')) throw new BackupError('invalid', `${f.out} exists; choose another --out (an existing file is never replaced)`);
        throw e;
      }
      print(
        f.json ?? false,
        { out: f.out, files: snapshot.files.length, created: snapshot.created },
        `backup of ${snapshot.files.length} files written to ${f.out}`,
      );
    });

  program
    .command('restore')
    .description('write a backup into a fresh data directory (--data); then start the gateway there with the same card')
    .argument('<file>', 'the backup file')
    .option('--replace', 'when the data directory holds something (a freshly flashed board): put it aside as <dir>.before-restore-<time>, gateway stopped')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nAsks on the TTY, or reads from stdin: the passphrase. The data directory must be empty or absent, unless --replace.')
    .action(async (file: string, f: { json?: boolean; replace?: boolean }) => {
      const { readFile } = await import('node:fs/promises');
      const { decryptBackup } = await import('../backup/backup-cipher.js');
      const { restoreSnapshot } = await import('../backup/data-snapshot.js');
      const { BackupError } = await import('../backup/backup-error.js');
      const dir = dataDir();
      if (f.replace && (await gatewayAnswers(adminSocketPath(dir))))
        throw new BackupError('gateway-running', `A gateway is running on ${dir}: stop it first (systemctl stop homegate); nothing was changed`);
      const encrypted = await readFile(file);
      const reader = createSecretReader();
      let passphrase: string;
      try {
        passphrase = await reader.read('Backup passphrase');
      } finally {
        reader.close();
      }
      const snapshot = decryptBackup(encrypted, passphrase);
      const r: { files: number; previous?: string } = f.replace
        ? await (await import('../backup/restore-replacing.js')).restoreReplacing(snapshot, dir)
        : await restoreSnapshot(snapshot, dir);
      print(
        f.json ?? false,
        { dataDir: dir, files: r.files, created: snapshot.created, ...(r.previous ? { previous: r.previous } : {}) },
        `restored ${r.files} files (backup of ${snapshot.created}) into ${dir}${r.previous ? `; what was there is now ${r.previous}` : ''}`,
      );
    });
}
