/**
 * `homegate card atr [HEX…]`: explain ATRs, from arguments or one per line on
 * stdin. A malformed one gets its error and the others go on; the exit code
 * is 1 when any failed (error-exit.ts), 0 otherwise.
 */
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { parseAtr } from '../../card-io/atr/atr.js';
import { isCodedError } from '../../card-io/base/coded-error.js';
import { EXIT_FAILED } from './error-exit.js';
import { atrJson, formatAtr } from './format-atr.js';

/** Hex with optional spaces or colons between bytes ("3B 02 14 50", "3B:02:14:50"). */
function hexInput(text: string): Buffer {
  const compact = text.replace(/[\s:]/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(compact)) throw new Error('not an even number of hex digits');
  return Buffer.from(compact, 'hex');
}

async function* inputs(args: string[]): AsyncGenerator<string> {
  if (args.length) {
    yield* args;
    return;
  }
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY })) {
    if (line.trim()) yield line.trim();
  }
}

export function registerCardAtrCommand(card: Command): void {
  card
    .command('atr')
    .description('explain Answer-to-Reset strings (ISO/IEC 7816-3 §8): from arguments, or one per line on stdin')
    .argument('[hex...]', 'ATRs in hex, one per argument (spaces or colons between bytes allowed when quoted)')
    .option('--json', 'one JSON object per line')
    .action(async (args: string[], flags: { json?: boolean }) => {
      let failed = false;
      for await (const input of inputs(args)) {
        try {
          const atr = parseAtr(hexInput(input));
          process.stdout.write(flags.json ? `${JSON.stringify(atrJson(atr))}\n` : formatAtr(atr));
        } catch (e) {
          failed = true;
          const error = isCodedError(e) || e instanceof Error ? e.message : String(e);
          process.stdout.write(flags.json ? `${JSON.stringify({ input, error })}\n` : `ATR: ${input}\n  error: ${error}\n`);
        }
      }
      if (failed) process.exitCode = EXIT_FAILED;
    });
}
