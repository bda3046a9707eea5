/**
 * `homegate sandbox` (what `npm start` runs): a household on one machine.
 * For now: the sandbox issuer CA, a personalized emulated home card in its own
 * process on a TCP virtual serial line, and a driver walkthrough against it.
 * The gateway, market and terminals join in later.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { connectHomeCard } from '../../card-io/home-card/connect.js';
import { runCardWalkthrough } from '../sandbox/card-walkthrough.js';
import { spawnEmulator } from '../sandbox/emulator-child.js';
import { assertPortFree } from '../sandbox/port-check.js';
import { DEMO_PINS, ensurePersonalized, prepareSandboxCard } from '../sandbox/sandbox-card.js';
import { ensureDataDir, resolveDataDir } from './data-dir.js';
import { createLogger } from './logger.js';

const port = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError('expected a TCP port 1..65535');
  return n;
};

export function registerSandboxCommand(program: Command): void {
  program
    .command('sandbox')
    .description('run a sandbox household on this machine: an emulated home card and a walkthrough of the card driver')
    .option('--card-port <port>', 'TCP port of the virtual serial line to the card', port, 7816)
    .option('--once', 'run the walkthrough and exit instead of keeping the card running')
    .action(async (flags: { cardPort: number; once?: boolean }) => {
      const global = program.opts<{ data?: string; logLevel?: string }>();
      const dataDir = ensureDataDir(resolveDataDir(global.data));
      const logger = createLogger(global.logLevel, 'sandbox', 'warn');
      const say = (line: string) => process.stdout.write(`  ✓ ${line}\n`);

      process.stdout.write(`homegate sandbox — data in ${dataDir}\n`);
      const files = await prepareSandboxCard(dataDir);
      process.stdout.write(files.created ? '  • new sandbox card image and issuer CA created\n' : '  • reusing the sandbox card and issuer CA\n');
      await assertPortFree(flags.cardPort, 'card line', '--card-port');
      const device = `tcp://127.0.0.1:${flags.cardPort}`;
      const emulator = await spawnEmulator(device, files.imagePath);
      process.stdout.write(`  • home card emulator running on ${device} (pid ${emulator.process.pid})\n`);
      try {
        const conn = await connectHomeCard({ device, logger });
        try {
          if (await ensurePersonalized(conn.card, files)) say('card personalized: key generated on the card, certified by the sandbox issuer, PINs set, locked');
          await runCardWalkthrough(conn.card, DEMO_PINS, say);
        } finally {
          await conn.close();
        }
      } catch (e) {
        await emulator.stop();
        throw e;
      }
      process.stdout.write(
        [
          '',
          'Demo card passwords: PIN1 1234, PIN2 5678, PUK 87654321.',
          'Try next, in another terminal:',
          `  npx homegate card info --device ${device}`,
          `  npx homegate card info --device ${device} --json`,
          '',
        ].join('\n'),
      );
      if (flags.once) {
        await emulator.stop();
        return;
      }
      process.stdout.write('The card keeps running; press Ctrl-C to stop.\n');
      const stop = () => void emulator.stop().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
