/**
 * `homegate terminal export --out F`: this terminal's identity (key, its
 * certificate, the chain and the household root) as a PKCS#12 file that a
 * phone or a browser imports for mutual TLS with the gateway
 * (provisioning/pki/pkcs12.ts). The password is asked twice on the TTY, or
 * read as two stdin lines; never from argv or the environment. The file is
 * created 0600 and never replaces an existing one.
 */
import type { Command } from 'commander';
import { createFileExclusive, isErrno } from '../../card-io/base/durable/atomic-file.js';
import { AdminClientError } from './admin-client.js';
import { resolveDataDir } from './data-dir.js';
import { createSecretReader } from './read-secret.js';
import { chooseProfileDir } from './terminal-profile-dir.js';

/** Shorter passwords fall to an offline guess at the file's 10000 PBKDF2 rounds. */
export const MIN_EXPORT_PASSWORD = 8;

export function registerTerminalExportCommand(program: Command): void {
  const terminal = program.commands.find((c) => c.name() === 'terminal');
  if (!terminal) throw new Error('register the "terminal" commands before "terminal export"');
  terminal
    .command('export')
    .description("write this terminal's key and certificates as a password-protected PKCS#12 file (.p12) for a phone or browser")
    .requiredOption('--out <file>', 'the .p12 file to create (mode 0600; an existing file is not replaced)')
    .option('--profile <name>', 'terminal profile under <data>/terminals (default: the only one, or "demo")')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      `\nAsks on the TTY, or reads from stdin one per line:\n  1. the file's password (at least ${MIN_EXPORT_PASSWORD} characters)\n  2. the password again`,
    )
    .action(async (f: { out: string; profile?: string; json?: boolean }) => {
      const dir = await chooseProfileDir(resolveDataDir(program.opts<{ data?: string }>().data), f.profile);
      const { loadTerminalProfile } = await import('../../card-io/access-card/terminal-profile.js');
      const { createPkcs12 } = await import('../../provisioning/pki/pkcs12.js');
      const { pemToDerAll } = await import('../../provisioning/pki/pem.js');
      const profile = await loadTerminalProfile(dir);
      const reader = createSecretReader();
      let password: string;
      try {
        password = await reader.read('Password for the .p12 file');
        if (password.length < MIN_EXPORT_PASSWORD)
          throw new AdminClientError('password-too-short', `The password needs at least ${MIN_EXPORT_PASSWORD} characters; nothing was written`);
        if ((await reader.read('The password again')) !== password)
          throw new AdminClientError('password-mismatch', 'The passwords differ; nothing was written');
      } finally {
        reader.close();
      }
      const certificates = [...pemToDerAll(profile.certificatePem), ...pemToDerAll(profile.householdCaPem)];
      const p12 = createPkcs12({ privateKey: profile.key, certificates, password, friendlyName: `homegate ${profile.name}` });
      try {
        await createFileExclusive(f.out, p12, 0o600);
      } catch (e) {
        if (isErrno(e, 'EEXIST')) throw new AdminClientError('file-exists', `${f.out} exists; choose another --out (an existing file is never replaced)`);
        throw e;
      }
      process.stdout.write(
        f.json ? `${JSON.stringify({ out: f.out, terminal: profile.name, certificates: certificates.length })}\n` : `wrote ${f.out} for ${profile.name}\n`,
      );
    });
}
