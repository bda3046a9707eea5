/**
 * Pairing from the command line (docs/PROVISIONING.md):
 *
 * - `homegate terminals pair --name NAME --mail ADDR` on the gateway: asks the
 *   running gateway for a single-use code (10 minutes) and prints it, with a
 *   QR code of it for a phone's camera;
 * - `homegate terminal pair [--gateway URL] CODE` on the terminal: pairs,
 *   writing the terminal's profile under <data>/terminals/<name>.
 *
 * The QR code is drawn by qrcode-generator (no dependencies, pure JS, the
 * half-block text rendering `createASCII` fits a terminal window), in
 * byte mode with error correction M (ISO/IEC 18004 §6.5.1: 15 %).
 */
import type { Command } from 'commander';
import { adminRequest, adminSocketPath } from './admin-client.js';
import { ensureDataDir, resolveDataDir } from './data-dir.js';
import { profilesDir } from './terminal-profile-dir.js';

function group(program: Command, name: string): Command {
  const found = program.commands.find((c) => c.name() === name);
  if (!found) throw new Error(`register the "${name}" commands before the pairing commands`);
  return found;
}

/**
 * The code as a QR code in text, two modules per character cell. qrcode-generator is imported
 * here, not with this file: every `homegate` command, `gateway run` too, registers this one, and
 * its source would stay in the heap for the process's life (docs/PERFORMANCE.md, memory).
 */
export async function pairingQr(code: string): Promise<string> {
  const { default: qrcode } = await import('qrcode-generator');
  const qr = qrcode(0, 'M');
  qr.addData(code, 'Byte');
  qr.make();
  return qr.createASCII(1, 2);
}

export function registerPairingCommands(program: Command): void {
  const dataDir = () => resolveDataDir(program.opts<{ data?: string }>().data);

  group(program, 'terminals')
    .command('pair')
    .description('make a single-use pairing code (10 minutes) for a new terminal, and show it as a QR code')
    .requiredOption('--name <name>', "the terminal's name, [a-z0-9-]")
    .requiredOption('--mail <address>', "where this terminal's notifications go")
    .option('--url <https-url>', 'the gateway URL the terminal should use (default: none when pairing.advertise is on, else https://<host name>.local:<port>)')
    .option('--json', 'machine-readable output (no QR code)')
    .action(async (f: { name: string; mail: string; url?: string; json?: boolean }) => {
      const r = await adminRequest(adminSocketPath(dataDir()), 'POST', '/admin/pairing', {
        name: f.name,
        mail: f.mail,
        ...(f.url ? { gatewayUrl: f.url } : {}),
      });
      const p = r.pairing as { code: string; expiresAt: number; fingerprint: string };
      if (f.json) return void process.stdout.write(`${JSON.stringify(p)}\n`);
      process.stdout.write(
        `${await pairingQr(p.code)}\n` +
          `Pairing code for ${f.name} (single use, until ${new Date(p.expiresAt).toLocaleTimeString()}):\n\n  ${p.code}\n\n` +
          `On the terminal: homegate terminal pair ${p.code}\n`,
      );
    });

  group(program, 'terminal')
    .command('pair')
    .description('pair this terminal with the household gateway, using the code "homegate terminals pair" printed')
    .argument('<code>', 'the pairing code (HG1.…)')
    .option('--gateway <https-url>', "the gateway's URL (default: the one in the code, else found on the LAN by mDNS)")
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nThe gateway is trusted only if its household CA is the one the code names. The key is made here\n' +
        'and never leaves this machine. Exit 0 when paired, 1 when refused (wrong, expired or used code,\n' +
        'another household, gateway unreachable).',
    )
    .action(async (code: string, f: { gateway?: string; json?: boolean }) => {
      const dir = ensureDataDir(dataDir());
      const { pairTerminal } = await import('../pairing/pair-terminal.js');
      const { discoverGateway } = await import('../pairing/mdns-service.js');
      const paired = await pairTerminal({
        code,
        terminalsDir: profilesDir(dir),
        discover: () => discoverGateway(),
        ...(f.gateway ? { gatewayUrl: f.gateway } : {}),
      });
      process.stdout.write(
        f.json ? `${JSON.stringify(paired)}\n` : `paired with ${paired.gatewayUrl} as ${paired.name} (${paired.terminalId}); profile in ${paired.profileDir}\n`,
      );
    });
}
