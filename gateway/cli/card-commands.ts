/**
 * `homegate card ...`: run the reference card, make a card image, read a card;
 * unblock and change the PINs through the gateway (card-pin-commands.ts).
 */
import { randomBytes } from 'node:crypto';
import { unlink, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
// The emulator (card-io/emulator, with its ECDSA and X.509 libraries) is imported by the commands that
// run it, not here: every `homegate` process, `gateway run` included, loads this file (docs/PERFORMANCE.md).
import { CardError, CardErrorCode } from '../../card-io/errors.js';
import { connectHomeCard } from '../../card-io/home-card/connect.js';
import type { T1Options } from '../../card-io/t1/t1-options.js';
import { createLogger } from './logger.js';
import { registerCardPinCommands } from './card-pin-commands.js';
import { registerCardAtrCommand } from './card-atr-command.js';
import { formatCardInfo } from './format-card-info.js';

function intOption(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer in ${min}..${max}`);
    return n;
  };
}

function addT1Options(cmd: Command): Command {
  return cmd
    .addOption(new Option('--edc <kind>', 'T=1 epilogue: lrc or crc').choices(['lrc', 'crc']).default('lrc'))
    .option('--ifsc <bytes>', "IFSC, the card's block size (1..254)", intOption(1, 254), 32)
    .option('--bwt-ms <ms>', 'block waiting time in ms (10..60000)', intOption(10, 60000), 1500)
    .option('--baud <rate>', 'serial line speed in bit/s (8N1)', intOption(1200, 4000000), 115200);
}

/** Mode 0600, never over an existing file (someone's key may be in it). */
async function writeAdminKeyFile(path: string, adminKey: Buffer): Promise<void> {
  try {
    await writeFile(path, adminKey.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    throw new CardError(CardErrorCode.InvalidArgument, `The admin key file ${path} already exists; choose another --admin-key-out`, { path });
  }
}

interface T1Flags {
  edc: 'lrc' | 'crc';
  ifsc: number;
  bwtMs: number;
  baud: number;
}

function t1From(flags: T1Flags): T1Options {
  return { edc: flags.edc, ifsc: flags.ifsc, bwtMs: flags.bwtMs };
}

export function registerCardCommands(program: Command): void {
  const card = program.command('card').description('the home card: run the reference card, make images, read a card, unblock or change its PINs');
  registerCardPinCommands(card, program);
  registerCardAtrCommand(card);

  card
    .command('new-image')
    .description('make a factory-fresh card image; its admin key is printed once, or written to a 0600 file')
    .argument('<file>', 'image file to create (refuses to overwrite)')
    .option('--admin-key-out <file>', 'write the admin key (hex) to this file, mode 0600, instead of printing it')
    .option('--json', 'machine-readable output')
    .action(async (file: string, flags: { adminKeyOut?: string; json?: boolean }) => {
      const [{ ADMIN_KEY_LENGTH }, { createCardImage }] = await Promise.all([
        import('../../card-io/emulator/card-state.js'),
        import('../../card-io/emulator/card-image.js'),
      ]);
      // The key file first: a failure on either file leaves no image whose admin key nobody has.
      const adminKey = randomBytes(ADMIN_KEY_LENGTH);
      if (flags.adminKeyOut) await writeAdminKeyFile(flags.adminKeyOut, adminKey);
      let cardId: Buffer;
      try {
        ({ cardId } = await createCardImage(file, { adminKey }));
      } catch (e) {
        if (flags.adminKeyOut) await unlink(flags.adminKeyOut).catch(() => undefined);
        throw e;
      }
      const key = flags.adminKeyOut ? { adminKeyFile: flags.adminKeyOut } : { adminKey: adminKey.toString('hex') };
      const out = { image: file, cardId: cardId.toString('hex'), ...key };
      if (flags.json) process.stdout.write(JSON.stringify(out) + '\n');
      else {
        process.stdout.write(`card image ${file} created, card id ${out.cardId}\n`);
        if (flags.adminKeyOut) process.stdout.write(`admin key written to ${flags.adminKeyOut} (0600)\n`);
        else process.stdout.write(`admin key (shown once, keep it safe): ${adminKey.toString('hex')}\n`);
      }
    });

  addT1Options(
    card
      .command('emulate')
      .description('run the reference home card on a serial device or a tcp://host:port listener until stopped')
      .requiredOption('--device <path|tcp://host:port>', 'serial device (e.g. a pty) or TCP address to serve')
      .requiredOption('--image <file>', 'card image file (see card new-image)')
      .option('--slow-ms <ms>', 'extra processing time per command, to exercise S(WTX)', intOption(0, 60000), 0)
      .option('--control <tcp://host:port|/path>', 'put the card in a virtual socket: VCC, RST and detect on this control channel; ATR on every reset')
      .option('--removed', 'with --control: start with the card out of the socket')
      .addOption(
        new Option('--convention <kind>', 'with --control: the character convention (ISO/IEC 7816-3 §8.1)').choices(['direct', 'inverse']).default('direct'),
      ),
  ).action(
    async (flags: T1Flags & { device: string; image: string; slowMs: number; control?: string; removed?: boolean; convention: 'direct' | 'inverse' }) => {
      const logger = createLogger(program.opts().logLevel, 'card-emulator');
      const { startCardEmulator } = await import('../../card-io/emulator/card-emulator.js');
      const emulator = await startCardEmulator({
        device: flags.device,
        imagePath: flags.image,
        logger,
        t1: t1From(flags),
        slowMs: flags.slowMs,
        link: { baudRate: flags.baud },
        ...(flags.control ? { control: flags.control, inserted: !flags.removed, convention: flags.convention } : {}),
      });
      process.stdout.write(
        JSON.stringify({ event: 'ready', device: emulator.link.address, ...(emulator.control ? { control: emulator.control } : {}) }) + '\n',
      );
      const stop = async () => {
        await emulator.stop();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    },
  );

  addT1Options(
    card
      .command('info')
      .description('print the card id, applet version, certificate subject and retry counters of the card on a line')
      .requiredOption('--device <path|tcp://host:port>', 'serial device or TCP address of the card')
      .option('--json', 'machine-readable output'),
  ).action(async (flags: T1Flags & { device: string; json?: boolean }) => {
    const logger = createLogger(program.opts().logLevel, 'card-info', 'warn');
    const conn = await connectHomeCard({ device: flags.device, logger, t1: t1From(flags), link: { baudRate: flags.baud } });
    try {
      const info = await conn.card.info();
      process.stdout.write(formatCardInfo(info, flags.json ?? false));
    } finally {
      await conn.close();
    }
  });
}
