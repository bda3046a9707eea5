/**
 * `homegate card unblock 1|2` and `homegate card change-pin 1|2`: the card's
 * PINs through the running gateway's admin socket (it owns the card line).
 * PINs are asked on the TTY with echo off, or read one per line from stdin
 * in the order the help text gives; never from argv or the environment.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { adminRequest, adminSocketPath, AdminClientError } from './admin-client.js';
import { resolveDataDir } from './data-dir.js';
import { createSecretReader, type SecretReader } from './read-secret.js';

const pinArg = (v: string): '1' | '2' => {
  if (v !== '1' && v !== '2') throw new InvalidArgumentError('expected 1 (PIN1) or 2 (PIN2)');
  return v;
};

/** Reads the new PIN twice; a mismatch ends the command before the card is asked. */
async function readNewPin(reader: SecretReader, name: string): Promise<string> {
  const first = await reader.read(`New ${name}`);
  const again = await reader.read(`New ${name} again`);
  if (first !== again) throw new AdminClientError('pin-mismatch', `The new ${name} and its confirmation differ; nothing was changed`);
  return first;
}

async function withReader<T>(fn: (r: SecretReader) => Promise<T>): Promise<T> {
  const reader = createSecretReader();
  try {
    return await fn(reader);
  } finally {
    reader.close();
  }
}

export function registerCardPinCommands(card: Command, program: Command): void {
  const socket = () => adminSocketPath(resolveDataDir(program.opts<{ data?: string }>().data));

  card
    .command('unblock')
    .description("set a new PIN1 or PIN2 with the PUK, through the running gateway; the PIN's tries are full again")
    .argument('<pin>', '1 (PIN1) or 2 (PIN2)', pinArg)
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nAsks on the TTY, or reads from stdin one per line in this order:\n' +
        '  1. the PUK (8 digits)\n  2. the new PIN\n  3. the new PIN again\n' +
        "Unblocking PIN1 ends every terminal's card session: terminals unlock again with the new PIN1.\n" +
        'A wrong PUK costs one of its tries. Exit 0 on success, 1 on any refusal.',
    )
    .action(async (which: '1' | '2', flags: { json?: boolean }) => {
      const name = `PIN${which}`;
      const body = await withReader(async (r) => ({ puk: await r.read('PUK'), newPin: await readNewPin(r, name) }));
      await adminRequest(socket(), 'POST', `/admin/card/pins/${which}/unblock`, body);
      process.stdout.write(flags.json ? JSON.stringify({ pin: name, unblocked: true }) + '\n' : `${name} set; its tries are full again\n`);
    });

  card
    .command('change-pin')
    .description('change PIN1 or PIN2 on the home card, through the running gateway')
    .argument('<pin>', '1 (PIN1) or 2 (PIN2)', pinArg)
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nAsks on the TTY, or reads from stdin one per line in this order:\n' +
        '  change-pin 1: current PIN1, new PIN1, new PIN1 again\n' +
        '  change-pin 2: PIN1, current PIN2, new PIN2, new PIN2 again (the card wants PIN1 first)\n' +
        "Changing PIN1 ends every terminal's card session. A wrong current PIN costs a try. Exit 0 on success, 1 on any refusal.",
    )
    .action(async (which: '1' | '2', flags: { json?: boolean }) => {
      const name = `PIN${which}`;
      const body = await withReader(async (r) => {
        const pin1 = which === '2' ? await r.read('PIN1') : undefined;
        const currentPin = await r.read(`Current ${name}`);
        return { ...(pin1 !== undefined ? { pin1 } : {}), currentPin, newPin: await readNewPin(r, name) };
      });
      await adminRequest(socket(), 'POST', `/admin/card/pins/${which}/change`, body);
      process.stdout.write(flags.json ? JSON.stringify({ pin: name, changed: true }) + '\n' : `${name} changed\n`);
    });
}
