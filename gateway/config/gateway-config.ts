/**
 * The gateway's configuration: one JSON file, `<data>/gateway.json`, validated
 * at start-up with every error reported at once (as Zigbee2MQTT validates its
 * YAML against a schema). Each option says its unit, range and default where
 * it is declared, in its `.describe()`: docs/CONFIGURATION.md is generated
 * from those (npm run docs:config) and a test fails when it drifts. Relative
 * paths are relative to the data directory.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { CodedError } from '../../card-io/base/coded-error.js';
import { socketOptionsSchema } from '../card/socket-options.js';
import { mqttConfigSchema } from '../notify/mqtt-options.js';
import { smtpConfigSchema } from '../notify/smtp-options.js';
import { DEFAULT_PROXY_OPTIONS, proxyOptionsSchema } from '../proxy/proxy-options.js';
import { DEFAULT_PAIRING_OPTIONS, pairingOptionsSchema } from '../pairing/pairing-options.js';
import { checkPanelPins, panelOptionsSchema } from '../panel/panel-options.js';

const port = z.number().int().min(1).max(65535);

export const gatewayConfigSchema = z
  .object({
    card: z
      .object({
        device: z.string().min(1).describe('Serial device of the home card (/dev/serial0, a udev name) or tcp://host:port (ser2net).'),
        baudRate: z.number().int().min(1200).max(4_000_000).default(115200).describe('Line speed in bit/s, 8N1. Default 115200.'),
        edc: z
          .enum(['lrc', 'crc'])
          .optional()
          .describe("T=1 epilogue, an override: default the ATR's (card.socket), else 'lrc' (ISO/IEC 7816-3 default without TC3)."),
        ifsc: z.number().int().min(1).max(254).optional().describe("IFSC in bytes, 1..254, an override: default the ATR's (card.socket), else 32."),
        bwtMs: z
          .number()
          .int()
          .min(10)
          .max(60_000)
          .optional()
          .describe("Block waiting time in ms, 10..60000, an override: default from the ATR's BWI (card.socket), else 1500."),
        commandTimeoutMs: z.number().int().min(1).max(600_000).default(10_000).describe('Longest one card command may take, in ms, 1..600000. Default 10000.'),
        adminKeyFile: z.string().min(1).optional().describe("File with the card's admin key (hex, 0600); needed to register markets on the card."),
        householdCardId: z
          .string()
          .regex(/^[0-9a-f]{16}$/, '16 lower-case hex digits, as `homegate provision card` prints it')
          .optional()
          .describe(
            "The household's home card (its card id, as `homegate provision card` and `homegate card info` print it): any other card in the socket is refused from the first insertion. Absent: the first card activated is recorded as the household's (trust on first use).",
          ),
        socket: socketOptionsSchema
          .optional()
          .describe(
            'The card in a socket (reset, detect, ATR, PPS): `backend` virtual, modem-lines or gpio, each with its fields (README, "The card socket"; gateway/card/socket-options.ts). Absent: the line coming up is the card.',
          ),
      })
      .strict()
      .describe('The home card and its line.'),
    terminalApi: z
      .object({
        host: z.string().min(1).default('0.0.0.0').describe('Address the terminal listener binds. Default 0.0.0.0 (the household LAN).'),
        port: port.default(8443).describe('TCP port of the terminal listener. Default 8443.'),
        certFile: z.string().default('pki/gateway.pem').describe("The gateway's TLS certificate (PEM), issued by the household CA. Default pki/gateway.pem."),
        keyFile: z.string().default('pki/gateway.key').describe('Its private key (PEM, 0600). Default pki/gateway.key.'),
        caFile: z.string().default('pki/household-ca.pem').describe('The household CA (PEM) that issues terminal certificates. Default pki/household-ca.pem.'),
      })
      .strict()
      .default({ host: '0.0.0.0', port: 8443, certFile: 'pki/gateway.pem', keyFile: 'pki/gateway.key', caFile: 'pki/household-ca.pem' })
      .describe('The HTTPS listener terminals talk to (mutual TLS, gateway/terminal-api/API.md).'),
    registryFile: z.string().default('registry.json').describe('The registry (terminals, markets). Default registry.json.'),
    adminSocket: z.string().default('gateway.sock').describe('Unix socket for local administration (market add, terminal enroll). Default gateway.sock.'),
    proxy: proxyOptionsSchema.default(DEFAULT_PROXY_OPTIONS).describe('The proxy engine (market handshakes); its options below.'),
    pairing: pairingOptionsSchema.default(DEFAULT_PAIRING_OPTIONS).describe('How terminals find the gateway to pair (mDNS); its options below.'),
    historyDir: z.string().default('history').describe('The archive of decisions, cancels and loads (one file per month). Default history.'),
    mqtt: mqttConfigSchema
      .optional()
      .describe('MQTT for mail notifications and status; absent: no MQTT. Its options below (the password stays in passwordFile).'),
    smtp: smtpConfigSchema.optional().describe('SMTP for mail notifications; absent: MQTT only. Its options below (the password stays in passwordFile).'),
    emoney: z
      .object({
        issuer: z
          .object({
            url: z.string().url().describe("The issuer's API, https://…"),
            caFile: z.string().describe("The CA (PEM) that issues the issuer's server certificate."),
            certFile: z.string().describe("The household's client certificate for the issuer (PEM)."),
            keyFile: z.string().describe('Its private key (PEM, 0600).'),
          })
          .strict()
          .optional()
          .describe("The e-money issuer for top-ups: its URL, its CA and the household's credential. Absent: no top-ups."),
        householdMonthlyTopupLimit: z.number().int().min(0).default(50_000).describe('Household top-ups per calendar month (UTC), minor units. Default 50000.'),
        terminalMonthlyTopupLimit: z
          .number()
          .int()
          .min(0)
          .default(20_000)
          .describe("One terminal's top-ups per calendar month (UTC), minor units. Default 20000."),
        presentRetrySeconds: z
          .number()
          .int()
          .min(1)
          .max(3600)
          .default(10)
          .describe('How often unacknowledged decisions are presented to markets again, in s, 1..3600. Default 10.'),
      })
      .strict()
      .default({ householdMonthlyTopupLimit: 50_000, terminalMonthlyTopupLimit: 20_000, presentRetrySeconds: 10 })
      .describe('The purse: top-ups from the issuer and their limits (gateway/emoney/PAYMENTS.md).'),
    sessions: z
      .object({
        idleTimeoutSeconds: z
          .number()
          .int()
          .min(10)
          .max(86_400)
          .default(600)
          .describe("A terminal's card session closes after this idle time, in s, 10..86400. Default 600."),
        pinRetryDelayMs: z
          .number()
          .int()
          .min(0)
          .max(60_000)
          .default(1000)
          .describe("Wait after a terminal's first wrong PIN try, in ms, 0..60000 (0: no delay); doubles per further wrong try. Default 1000."),
        pinRetryDelayMaxMs: z.number().int().min(1000).max(3_600_000).default(300_000).describe('The longest such wait, in ms, 1000..3600000. Default 300000.'),
      })
      .strict()
      .default({ idleTimeoutSeconds: 600, pinRetryDelayMs: 1000, pinRetryDelayMaxMs: 300_000 })
      .describe("Terminals' card sessions (PIN1 opens one) and the wait after wrong PINs."),
    panel: panelOptionsSchema
      .optional()
      .describe('The panel (LEDs, confirm button, buzzer) through johnny-five; absent: headless, no confirmation. Options in gateway/panel/panel-options.ts.'),
  })
  .strict()
  // Also when another section has a wrong type (zod skips refinements then by default): one error lists every problem.
  .superRefine(checkPanelPins, { when: (payload) => typeof payload.value === 'object' && payload.value !== null });

export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;

export class ConfigError extends CodedError<'invalid'> {
  override readonly name = 'ConfigError';
  readonly family = 'config';
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super('invalid', `Invalid configuration in ${file}:\n${problems.map((p) => `  - ${p}`).join('\n')}`, { file, problems });
  }
}

/** Validate an object; every problem is listed, with its path. */
export function parseGatewayConfig(raw: unknown, file = '(config)'): GatewayConfig {
  const result = gatewayConfigSchema.safeParse(raw);
  if (result.success) return result.data;
  throw new ConfigError(
    file,
    result.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`),
  );
}

export async function loadGatewayConfig(file: string): Promise<GatewayConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, [`cannot read the file (${(e as NodeJS.ErrnoException).code ?? 'error'})`]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(file, [`not valid JSON: ${(e as Error).message}`]);
  }
  return parseGatewayConfig(raw, file);
}

/** A path from the configuration, resolved against the data directory. */
export function dataPath(dataDir: string, p: string): string {
  return isAbsolute(p) ? p : join(dataDir, p);
}
