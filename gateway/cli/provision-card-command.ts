/**
 * `homegate provision card --device <path|tcp://…>`: personalize a
 * factory-fresh home card for this household (provisioning/provision-card.ts).
 *
 * PINs: from `--pins-fd N` as labelled lines (`pin1=…`, `pin2=…`, `puk=…`),
 * else each asked twice on the TTY (or read as stdin lines in that order).
 * Never argv or the environment. The rules are checked before the card is
 * opened. Progress goes to stderr, one line per step; with --json, one JSON
 * line per step on stdout and a final result line.
 *
 * Exit codes: 0 personalized (or already was), 4 waiting for the certificate
 * of a --csr-out round trip (run again with --import-cert), 1 any refusal.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { readSecretFile } from '../../card-io/base/durable/secret-file.js';
import { createFileExclusive } from '../../card-io/base/durable/atomic-file.js';
import type { CardPins } from '../../provisioning/personalize-card.js';
import { AdminClientError } from './admin-client.js';
import { createLogger } from './logger.js';
import { provisionGroup } from './provision-commands.js';
import { createSecretReader } from './read-secret.js';

/** The card waits for its certificate: a --csr-out round trip is half done. */
export const EXIT_AWAITING_CERTIFICATE = 4;
/** A PIN file descriptor holds three short lines; anything larger is not one. */
const MAX_PIN_INPUT = 4096;

interface ProvisionCardFlags {
  device: string;
  adminKeyFile: string;
  issuerDir?: string;
  csrOut?: string;
  importCert?: string;
  anchor: string[];
  issuerLoadKey?: string;
  currency: string;
  maxBalance: number;
  paymentLimit: number;
  dailyLimit: number;
  pinsFd?: number;
  household: string;
  json?: boolean;
}

const cents = (v: string) => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('expected an amount in minor units (cents)');
  return n;
};
const fd = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 3) throw new InvalidArgumentError('expected a file descriptor number, 3 or more (0-2 are stdio)');
  return n;
};

async function readPins(f: ProvisionCardFlags): Promise<CardPins> {
  const { parsePinLines, PinRuleError } = await import('../../provisioning/household-pins.js');
  if (f.pinsFd !== undefined) {
    let text: string;
    try {
      text = readFileSync(f.pinsFd, 'utf8');
    } catch (e) {
      throw new PinRuleError('pin-input', `Cannot read PINs from file descriptor ${f.pinsFd} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    if (text.length > MAX_PIN_INPUT) throw new PinRuleError('pin-input', `File descriptor ${f.pinsFd} holds more than PIN lines`);
    return parsePinLines(text);
  }
  const reader = createSecretReader();
  try {
    const twice = async (name: string) => {
      const first = await reader.read(`New ${name}`);
      if ((await reader.read(`${name} again`)) !== first) throw new PinRuleError('pin-input', `The two ${name} entries differ; nothing was written`);
      return first;
    };
    return { pin1: await twice('PIN1'), pin2: await twice('PIN2'), puk: await twice('PUK') };
  } finally {
    reader.close();
  }
}

/** An existing issuer CA, never a new one: a card certified by an issuer no market trusts would be useless. */
async function loadIssuer(dir: string): Promise<{ certificate: Buffer; privateKey: import('node:crypto').KeyObject }> {
  const { join } = await import('node:path');
  const { createPrivateKey } = await import('node:crypto');
  const { pemToDer } = await import('../../provisioning/pki/pem.js');
  const [pem, key] = await Promise.all([readFile(join(dir, 'issuer-ca.pem'), 'utf8'), readSecretFile(join(dir, 'issuer-ca.key'))]);
  return { certificate: pemToDer(pem), privateKey: createPrivateKey(key) };
}

export function registerProvisionCardCommand(program: Command): void {
  provisionGroup(program)
    .command('card')
    .description("personalize a factory-fresh home card with this household's PINs; run it again to finish an interrupted run")
    .requiredOption('--device <path|tcp://host:port>', "the card's serial line")
    .requiredOption('--admin-key-file <file>', "the card's admin key (hex, 0600), from the card's maker or `card new-image`")
    .option('--issuer-dir <dir>', 'an issuer CA at hand: <dir>/issuer-ca.{pem,key} (e.g. the sandbox issuer in <data>/pki)')
    .option('--csr-out <file>', "write the card's certification request here and stop (exit 4); then run again with --import-cert")
    .option('--import-cert <file>', "the card's certificate (PEM) issued for that request")
    .option('--anchor <pem...>', 'market trust anchors (CA certificates, PEM) to put on the card', [])
    .option('--issuer-load-key <pem>', "the e-money issuer's load-signing public key (PEM): sets up the purse")
    .option('--currency <code>', 'purse currency', 'EUR')
    .option('--max-balance <cents>', 'purse maximum balance, minor units', cents, 100_000)
    .option('--payment-limit <cents>', 'largest payment, minor units', cents, 20_000)
    .option('--daily-limit <cents>', 'payments per day, minor units', cents, 50_000)
    .option('--pins-fd <n>', 'read the PINs from this file descriptor: lines pin1=…, pin2=…, puk=…', fd)
    .option('--household <text>', "the organisation in the card certificate's subject", 'homegate household')
    .option('--json', 'one JSON line per step, then the result')
    .addHelpText(
      'after',
      '\nWithout --pins-fd the PINs are asked on the TTY (or read from stdin, one per line) in this order:\n' +
        '  PIN1, PIN1 again, PIN2, PIN2 again, PUK, PUK again\n' +
        'Rules, checked before the card is touched: PIN1 and PIN2 4-8 digits, the PUK 8 digits, none one digit\n' +
        'repeated, PIN1 and PIN2 different, the PUK different from both.\n' +
        'Exit 0 personalized (or already), 4 waiting for --import-cert, 1 refused.',
    )
    .action(async (f: ProvisionCardFlags) => {
      const sources = [f.issuerDir, f.csrOut ?? f.importCert].filter((x) => x !== undefined).length;
      if (sources !== 1) throw new AdminClientError('bad-usage', 'Give the certificate source: --issuer-dir DIR, or --csr-out FILE (then --import-cert FILE)');
      const { checkHouseholdPins } = await import('../../provisioning/household-pins.js');
      const pins = await readPins(f);
      checkHouseholdPins(pins); // before the card is opened
      const { provisionCard } = await import('../../provisioning/provision-card.js');
      const { connectHomeCard } = await import('../../card-io/home-card/connect.js');
      const { pemToDer, pemToDerAll } = await import('../../provisioning/pki/pem.js');

      const adminKey = Buffer.from((await readSecretFile(f.adminKeyFile)).toString('utf8').trim(), 'hex');
      const anchors = (await Promise.all(f.anchor.map((a) => readFile(a, 'utf8')))).flatMap((pem) => pemToDerAll(pem));
      const certificate = f.issuerDir
        ? { kind: 'issuer' as const, issuer: await loadIssuer(f.issuerDir) }
        : {
            kind: 'round-trip' as const,
            ...(f.importCert ? { certificate: pemToDer(await readFile(f.importCert, 'utf8')) } : {}),
            csr: async (der: Buffer) => {
              if (!f.csrOut) throw new AdminClientError('bad-usage', 'The card has no certificate yet: give --csr-out FILE first');
              const { derToPem } = await import('../../provisioning/pki/pem.js');
              await createFileExclusive(f.csrOut, derToPem(der, 'CERTIFICATE REQUEST'), 0o644);
            },
          };
      const purse = f.issuerLoadKey
        ? {
            purse: {
              issuerLoadKey: (await import('node:crypto')).createPublicKey(await readFile(f.issuerLoadKey, 'utf8')),
              currency: f.currency,
              maxBalance: f.maxBalance,
              perPaymentLimit: f.paymentLimit,
              dailyLimit: f.dailyLimit,
            },
          }
        : {};

      const logger = createLogger(program.opts().logLevel, 'provision-card', 'warn');
      const conn = await connectHomeCard({ device: f.device, logger });
      try {
        const result = await provisionCard({
          card: conn.card,
          adminKey,
          pins,
          subject: (cardId) => `CN=Home card ${cardId},O=${f.household}`,
          certificate,
          anchors,
          ...purse,
          progress: (step, outcome) => {
            if (f.json) process.stdout.write(`${JSON.stringify({ step, outcome })}\n`);
            else if (outcome !== 'start') process.stderr.write(`  ${step}: ${outcome}\n`);
          },
        });
        if (f.json) process.stdout.write(`${JSON.stringify(result)}\n`);
        else if (result.status === 'awaiting-certificate') {
          process.stdout.write(`card ${result.cardId}: its request is in ${f.csrOut}; have it certified, then run again with --import-cert FILE\n`);
        } else process.stdout.write(`card ${result.cardId}: ${result.status}\n`);
        if (result.status === 'awaiting-certificate') process.exitCode = EXIT_AWAITING_CERTIFICATE;
      } finally {
        adminKey.fill(0);
        await conn.close();
      }
    });
}
