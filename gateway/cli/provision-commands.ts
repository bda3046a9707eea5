/**
 * `homegate provision household`: the household's own PKI, on the
 * provisioning machine (provisioning/household-pki.ts, docs/PROVISIONING.md).
 * The `provision` group is shared with `provision device` (another file):
 * whichever registers first creates it.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';

export function provisionGroup(program: Command): Command {
  return (
    program.commands.find((c) => c.name() === 'provision') ??
    program.command('provision').description("set up a real household from this machine: its keys, its card, its gateway's files")
  );
}

export function registerProvisionHouseholdCommand(program: Command): void {
  provisionGroup(program)
    .command('household')
    .description("create the household root CA, the terminal-enrollment intermediate and the gateway's TLS certificate")
    .requiredOption('--out <dir>', 'where to write them (must not hold a household yet); the root key stays here, 0600')
    .option('--name <host>', "the gateway's host name: SANs <host> and <host>.local", 'homegate')
    .option('--address <addr...>', 'more names or IP addresses terminals reach the gateway by (SANs)', [])
    .option('--household <text>', "the household's name in the certificates' subjects", 'homegate household')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nWrites <out>/household-ca.{pem,key} (the root: keep it offline) and <out>/gateway/, laid out as the\n' +
        "gateway's data directory: pki/household-ca.pem, pki/enrollment-ca.{pem,key}, pki/gateway.{pem,key}.\n" +
        'The fingerprint printed is what pairing codes carry and terminals pin.',
    )
    .action(async (f: { out: string; name: string; address: string[]; household: string; json?: boolean }) => {
      const { provisionHousehold } = await import('../../provisioning/household-pki.js');
      const h = await provisionHousehold({ out: resolve(f.out), hostName: f.name, addresses: f.address, household: f.household });
      if (f.json) process.stdout.write(`${JSON.stringify(h)}\n`);
      else {
        process.stdout.write(
          `household created in ${h.out}\n  root CA fingerprint (SHA-256): ${h.fingerprint}\n` +
            `  gateway certificate for: ${[...h.dnsNames, ...h.ipAddresses].join(', ')}\n` +
            `  copy ${h.gatewayDataDir}/ onto the gateway's data directory; keep ${h.out}/household-ca.key offline\n`,
        );
      }
    });
}
