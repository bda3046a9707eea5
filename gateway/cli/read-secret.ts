/**
 * PINs and other secrets are read from a TTY with echo off, or one per line
 * from stdin when stdin is not a TTY (scripts, tests). Never from argv or the
 * environment, where `ps` and /proc would show them.
 */
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { CodedError } from '../../card-io/base/coded-error.js';

/** Stdin ended before the secret a command asks for: a script gave too few lines. */
export class SecretInputError extends CodedError<'secret-input'> {
  override readonly name = 'SecretInputError';
  readonly family = 'cli';
  constructor(message: string) {
    super('secret-input', message, {});
  }
}

export interface SecretReader {
  read(prompt: string): Promise<string>;
  close(): void;
}

export function createSecretReader(input: Readable & { isTTY?: boolean } = process.stdin, output: Writable = process.stderr): SecretReader {
  if (input.isTTY) return ttyReader(input, output);
  return lineReader(input);
}

function lineReader(input: Readable): SecretReader {
  const rl = createInterface({ input, terminal: false });
  const lines: string[] = [];
  const waiting: Array<(l: string | undefined) => void> = [];
  let ended = false;
  rl.on('line', (l) => (waiting.length ? waiting.shift()!(l) : lines.push(l)));
  rl.on('close', () => {
    ended = true;
    while (waiting.length) waiting.shift()!(undefined);
  });
  return {
    async read(prompt) {
      const line = lines.length ? lines.shift() : ended ? undefined : await new Promise<string | undefined>((r) => waiting.push(r));
      if (line === undefined) throw new SecretInputError(`No input for "${prompt}": stdin ended (see --help for the lines this command reads, in order)`);
      return line.trim();
    },
    close: () => rl.close(),
  };
}

function ttyReader(input: Readable & { setRawMode?: (raw: boolean) => void }, output: Writable): SecretReader {
  return {
    read(prompt) {
      return new Promise((resolve, reject) => {
        output.write(`${prompt}: `);
        let value = '';
        input.setRawMode?.(true);
        input.resume();
        const onData = (chunk: Buffer) => {
          for (const ch of chunk.toString('utf8')) {
            if (ch === '\r' || ch === '\n') {
              done();
              output.write('\n');
              return resolve(value);
            }
            if (ch === '\u0003') {
              done();
              return reject(new Error('Interrupted'));
            }
            if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
            else value += ch;
          }
        };
        const done = () => {
          input.off('data', onData);
          input.setRawMode?.(false);
          input.pause();
        };
        input.on('data', onData);
      });
    },
    close() {},
  };
}
