/**
 * `homegate sandbox` (what `npm start` runs): a whole household on this
 * machine, see deploy/sandbox/household/household.ts. `--demo` (what `npm run demo`
 * runs) adds the scripted terminal walkthrough and exits with its verdict.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
// The household's modules load only when the sandbox runs (fast start for other subcommands).
const DEFAULT_SANDBOX_PORTS = { card: 7816, gateway: 8443, market: 8444, issuer: 8445, mqtt: 1884 } as const;
import { mqttUrlSchema } from '../notify/mqtt-options.js';
import { ensureDataDir, resolveDataDir } from './data-dir.js';
import { createLogger } from './logger.js';

const port = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError('expected a TCP port 1..65535');
  return n;
};

interface SandboxFlags {
  cardPort: number;
  gatewayPort: number;
  marketPort: number;
  issuerPort: number;
  mqttPort: number;
  mqtt?: string;
  once?: boolean;
  demo?: boolean;
}

export function registerSandboxCommand(program: Command): void {
  program
    .command('sandbox')
    .description('run a sandbox household on this machine: card emulator, gateway, market and an enrolled demo terminal')
    .option('--card-port <port>', 'TCP port of the virtual serial line to the card', port, DEFAULT_SANDBOX_PORTS.card)
    .option('--gateway-port <port>', "TCP port of the gateway's terminal listener", port, DEFAULT_SANDBOX_PORTS.gateway)
    .option('--market-port <port>', 'TCP port of the sandbox market', port, DEFAULT_SANDBOX_PORTS.market)
    .option('--issuer-port <port>', 'TCP port of the sandbox e-money issuer', port, DEFAULT_SANDBOX_PORTS.issuer)
    .option('--mqtt-port <port>', 'TCP port of the embedded MQTT broker (1884: a household Mosquitto usually has 1883)', port, DEFAULT_SANDBOX_PORTS.mqtt)
    .option('--mqtt <url>', 'use this external broker (e.g. mqtt://127.0.0.1:1883, Mosquitto) instead of the embedded one')
    .option('--once', 'start everything, print the next steps and stop')
    .option('--demo', 'run the scripted demo walkthrough and exit 0 only if it succeeds')
    .action(async (flags: SandboxFlags) => {
      if (flags.mqtt && !mqttUrlSchema.safeParse(flags.mqtt).success) {
        throw new InvalidArgumentError('--mqtt must be a broker URL such as mqtt://127.0.0.1:1883, without a user or password');
      }
      const global = program.opts<{ data?: string; logLevel?: string }>();
      const dataDir = ensureDataDir(resolveDataDir(global.data));
      const logger = createLogger(global.logLevel, 'sandbox', 'warn');
      const say = (line: string) => process.stdout.write(`  ✓ ${line}\n`);
      process.stdout.write(`homegate sandbox — data in ${dataDir}\n`);
      const { SANDBOX_MARKET, startSandboxHousehold } = await import('../../deploy/sandbox/household/household.js');
      const ports = { card: flags.cardPort, gateway: flags.gatewayPort, market: flags.marketPort, issuer: flags.issuerPort, mqtt: flags.mqttPort };
      // The card sits in a virtual socket: reset, ATR and insert/remove as on a gateway with a card socket.
      const household = await startSandboxHousehold({ dataDir, ports, logger, say, socket: true, ...(flags.mqtt ? { mqttUrl: flags.mqtt } : {}) });
      let exitCode = 0;
      try {
        if (flags.demo) {
          const { demoSucceeded, runDemoWalkthrough } = await import('../../deploy/sandbox/household/demo-walkthrough.js');
          const { DEMO_PINS } = await import('../../deploy/sandbox/household/sandbox-card.js');
          const { DEMO_TERMINAL } = await import('../../deploy/sandbox/household/sandbox-registry.js');
          const result = await runDemoWalkthrough({
            profileDir: join(dataDir, 'terminals', DEMO_TERMINAL.name),
            market: SANDBOX_MARKET,
            pins: DEMO_PINS,
            cardCertificate: household.gateway.cards.certificate!,
            say,
          });
          const ok = demoSucceeded(result);
          process.stdout.write(
            ok ? "\ndemo passed: the market saw a resumed session carrying the home card's identity\n" : `\ndemo FAILED: ${JSON.stringify(result)}\n`,
          );
          exitCode = ok ? 0 : 1;
          return;
        }
        const d = global.data ? ` --data ${dataDir}` : '';
        process.stdout.write(
          [
            '',
            'Demo card passwords: PIN1 1234, PIN2 5678, PUK 87654321.',
            'Try, in another terminal (PINs are asked for; or pipe them, one per line):',
            `  npx homegate${d} terminal unlock        # PIN1, once per card session; the commands below ask only PIN2`,
            `  npx homegate${d} terminal get sandbox /catalog`,
            `  npx homegate${d} terminal get sandbox /whoami --json`,
            `  npx homegate${d} terminal session sandbox --out session.pem   # then: openssl s_client -connect localhost:${flags.marketPort} -servername ` +
              `localhost -alpn http/1.1 -sess_in session.pem`,
            `  npx homegate${d} terminal post sandbox /orders --body '{"item":"coffee-250g"}'   # then: terminal pay sandbox <orderId>`,
            `  npx homegate${d} terminal balance        terminal topup 2000        terminal history        terminal mail`,
            `  npx homegate${d} status`,
            `  npx homegate${d} market list`,
            `  (the card line ${household.cardDevice} belongs to the gateway while it runs)`,
            '',
          ].join('\n'),
        );
        if (flags.once) return;
        process.stdout.write('The household keeps running; press Ctrl-C to stop.\n');
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
      } finally {
        await household.stop();
        if (exitCode) process.exitCode = exitCode;
      }
    });
}
