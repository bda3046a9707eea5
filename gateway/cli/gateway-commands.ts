/**
 * `homegate gateway init|run`, `homegate market add|list|remove`,
 * `homegate terminals enroll|list|revoke`, `homegate status`.
 */
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
// Heavy modules are loaded by the subcommand that needs them, so `homegate card emulate` starts fast.
import { AdminClientError, adminRequest, adminSocketPath, gatewayAnswers } from './admin-client.js';
import { ensureDataDir, resolveDataDir } from './data-dir.js';
import { createLogger } from './logger.js';
import { GatewayNotConfigured, waitForGatewayTarget } from './wait-for-gateway.js';

const int = (min: number, max: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer in ${min}..${max}`);
  return n;
};

function print(json: boolean, value: unknown, text: string): void {
  process.stdout.write(json ? JSON.stringify(value) + '\n' : text.endsWith('\n') ? text : text + '\n');
}

export function registerGatewayCommands(program: Command): void {
  const dataDir = () => resolveDataDir(program.opts<{ data?: string }>().data);
  const gateway = program.command('gateway').description('the home server: set up and run');

  gateway
    .command('init')
    .description('create the household CA, the gateway certificate and gateway.json in the data directory (keeps what exists)')
    .requiredOption('--card-device <path|tcp://host:port>', 'serial line of the home card, e.g. /dev/serial0')
    .option('--host <name...>', 'names/addresses terminals use to reach the gateway', ['localhost', '127.0.0.1'])
    .option('--port <port>', 'terminal listener port', int(1, 65535), 8443)
    .option('--admin-key-file <file>', 'file with the card admin key (hex), needed for market add')
    .action(async (f: { cardDevice: string; host: string[]; port: number; adminKeyFile?: string }) => {
      const dir = ensureDataDir(dataDir());
      const { setupGateway } = await import('../setup/gateway-setup.js');
      const { configFile } = await setupGateway({ dataDir: dir, cardDevice: f.cardDevice, hosts: f.host, port: f.port, adminKeyFile: f.adminKeyFile });
      print(false, {}, `gateway configured: ${configFile}`);
    });

  gateway
    .command('run')
    .description('run the gateway until stopped (SIGINT/SIGTERM)')
    .option('--config <file>', 'configuration file (default: <data>/gateway.json)')
    .action(async (f: { config?: string }) => {
      const dir = ensureDataDir(dataDir());
      const logger = createLogger(program.opts().logLevel, 'gateway');
      const { loadGatewayConfig } = await import('../config/gateway-config.js');
      const { startGateway } = await import('../gateway.js');
      const config = await loadGatewayConfig(f.config ?? join(dir, 'gateway.json'));
      const gw = await startGateway({ dataDir: dir, config, logger });
      process.stdout.write(JSON.stringify({ event: 'ready', url: gw.url }) + '\n');
      // Under systemd (Type=notify, WatchdogSec): READY=1 now, WATCHDOG=1 from here on.
      const { createServiceNotifier } = await import('../service/systemd-notify.js');
      const notifier = createServiceNotifier({ logger });
      notifier.ready(`serving terminals on ${gw.url}`);
      const stop = () => {
        notifier.stopping();
        void gw.stop().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });

  gateway
    .command('decommission')
    .description('remove the gateway from dashboards: clear its Home Assistant discovery, state and availability (stop the gateway first)')
    .option('--config <file>', 'configuration file (default: <data>/gateway.json)')
    .option('--json', 'machine-readable output')
    .action(async (f: { config?: string; json?: boolean }) => {
      const dir = dataDir();
      const { loadGatewayConfig } = await import('../config/gateway-config.js');
      const config = await loadGatewayConfig(f.config ?? join(dir, 'gateway.json'));
      if (!config.mqtt) throw new InvalidArgumentError('gateway.json has no mqtt section: nothing was published');
      // A running gateway would be thrown off the broker by our login (same user, same client id), reconnect
      // and publish its discovery again right after we cleared it: the command would report a removal that did not last.
      if (await gatewayAnswers(adminSocketPath(dir)))
        throw new AdminClientError(
          'gateway-running',
          'The gateway is running: stop it first (systemctl stop homegate), or it publishes its discovery again at once',
        );
      const { readMqttConnection } = await import('../notify/mqtt-connection.js');
      const { decommissionDashboard } = await import('../dashboard/decommission.js');
      const c = await readMqttConnection(dir, config.mqtt);
      const cleared = await decommissionDashboard({
        url: c.url,
        clientId: c.clientId ?? 'homegate-gateway',
        gatewayBase: `${config.mqtt.topicPrefix}/${config.mqtt.gatewayId}`,
        discoveryPrefix: config.mqtt.discoveryPrefix ?? 'homeassistant',
        ...(c.username ? { username: c.username } : {}),
        ...(c.password ? { password: c.password } : {}),
        ...(c.ca ? { ca: c.ca } : {}),
        ...(c.cert ? { cert: c.cert } : {}),
        ...(c.key ? { key: c.key } : {}),
      });
      print(f.json ?? false, { cleared }, `cleared on the broker: ${cleared.join(', ')}`);
    });

  program
    .command('status')
    .description('exit 0 once the gateway answers (its health endpoint); print its state')
    .option('--wait <seconds>', 'keep trying this long', int(0, 3600), 0)
    .option('--url <url>', 'gateway URL (default: from <data>/gateway.json, https://localhost:<port>)')
    .option('--json', 'machine-readable output')
    .action(async (f: { wait: number; url?: string; json?: boolean }) => {
      const dir = dataDir();
      const configFile = join(dir, 'gateway.json');
      // Found again on every try: started together with a first `npm start`, gateway.json may not exist yet.
      let url = f.url;
      const locate = async () => {
        const ca = await readFile(join(dir, 'pki', 'household-ca.pem')).catch(() => undefined);
        if (f.url) return { url: f.url, ca };
        if (
          !(await access(configFile).then(
            () => true,
            () => false,
          ))
        ) {
          throw new GatewayNotConfigured(`No gateway is set up in ${dir} (no gateway.json); run "homegate gateway init" or "npm start"`);
        }
        const { loadGatewayConfig, dataPath } = await import('../config/gateway-config.js');
        const config = await loadGatewayConfig(configFile);
        url = `https://localhost:${config.terminalApi.port}`;
        // A provisioned gateway's certificate names the gateway (homegate, homegate.local), not localhost: check it by its own name.
        const { certificateDnsName } = await import('./certificate-name.js');
        const servername = await certificateDnsName(dataPath(dir, config.terminalApi.certFile), 'localhost');
        return { url, ca, ...(servername ? { servername } : {}) };
      };
      const health = await waitForGatewayTarget(locate, f.wait * 1000);
      const panel = health.panel as { plugin: string; pendingConfirmation?: { kind: string; amount: number; currency?: string } | null } | undefined;
      const pending = panel?.pendingConfirmation;
      const panelText = panel
        ? `, panel ${panel.plugin}${pending ? ` (waiting for the confirm button: ${pending.kind} ${pending.amount}${pending.currency ? ` ${pending.currency}` : ''})` : ''}`
        : '';
      print(f.json ?? false, health, `gateway ${url}: up, version ${health.version}, card ${health.card}${socketLine(health.socket)}${panelText}`);
    });

  const market = program.command('market').description('markets the gateway may authenticate to (registry and card trust anchors)');
  market
    .command('add')
    .argument('<name>', 'short name, [a-z0-9-]')
    .requiredOption('--url <https-url>', 'the market, e.g. https://shop.example:443')
    .requiredOption('--ca <pem-file>', "the market's trust anchor (CA certificate, PEM)")
    .option('--json', 'machine-readable output')
    .description('register a market and put its trust anchor on the home card (admin authentication)')
    .action(async (name: string, f: { url: string; ca: string; json?: boolean }) => {
      const r = await adminRequest(adminSocketPath(dataDir()), 'POST', '/admin/markets', { name, url: f.url, caPem: await readFile(f.ca, 'utf8') });
      print(f.json ?? false, r, `market ${name} registered (${f.url}); its anchor is on the card`);
    });
  market
    .command('list')
    .option('--json', 'machine-readable output')
    .description('list registered markets')
    .action(async (f: { json?: boolean }) => {
      const r = await adminRequest(adminSocketPath(dataDir()), 'GET', '/admin/markets');
      const rows = (r.markets as Array<{ name: string; url: string; anchorFingerprint: string }>).map(
        (m) => `${m.name}\t${m.url}\tanchor ${m.anchorFingerprint.slice(0, 16)}…`,
      );
      print(f.json ?? false, r, rows.join('\n') || '(no markets)');
    });
  market
    .command('remove')
    .argument('<name>')
    .option('--json', 'machine-readable output')
    .description('unregister a market and remove its anchor from the card')
    .action(async (name: string, f: { json?: boolean }) => {
      const r = await adminRequest(adminSocketPath(dataDir()), 'DELETE', `/admin/markets/${encodeURIComponent(name)}`);
      print(f.json ?? false, r, `market ${name} removed`);
    });

  const terminals = program.command('terminals').description('terminals registered with the gateway');
  terminals
    .command('enroll')
    .argument('<name>')
    .requiredOption('--mail <address>', "where this terminal's notifications go")
    .option('--json', 'machine-readable output')
    .description('enroll a terminal: client certificate, registry entry, profile under <data>/terminals/<name>')
    .action(async (name: string, f: { mail: string; json?: boolean }) => {
      const r = await adminRequest(adminSocketPath(dataDir()), 'POST', '/admin/terminals', { name, mail: f.mail });
      const t = r.terminal as { id: string; profileDir: string };
      print(f.json ?? false, r, `terminal ${name} enrolled as ${t.id}; profile in ${t.profileDir}`);
    });
  terminals
    .command('list')
    .option('--json', 'machine-readable output')
    .action(async (f: { json?: boolean }) => {
      const r = await adminRequest(adminSocketPath(dataDir()), 'GET', '/admin/terminals');
      const rows = (r.terminals as Array<{ id: string; name: string; status: string; mail: string }>).map((t) => `${t.id}\t${t.name}\t${t.status}\t${t.mail}`);
      print(f.json ?? false, r, rows.join('\n') || '(no terminals)');
    });
  terminals
    .command('role')
    .description("who may cancel other terminals' payments: owner, or member (only its own)")
    .argument('<id>')
    .argument('<role>', 'owner | member')
    .option('--json', 'machine-readable output')
    .action(async (id: string, role: string, f: { json?: boolean }) => {
      const r = await adminRequest(adminSocketPath(dataDir()), 'POST', `/admin/terminals/${encodeURIComponent(id)}/role`, { role });
      print(f.json ?? false, r, `terminal ${id} is now ${role}`);
    });
  terminals
    .command('revoke')
    .argument('<id>')
    .option('--json', 'machine-readable output')
    .action(async (id: string, f: { json?: boolean }) => {
      const r = await adminRequest(adminSocketPath(dataDir()), 'POST', `/admin/terminals/${encodeURIComponent(id)}/revoke`);
      print(f.json ?? false, r, `terminal ${id} revoked`);
    });
}

/** The card socket in `homegate status`: presence, state, ATR and T=1 parameters (from the health endpoint). */
function socketLine(socket: unknown): string {
  if (!socket || typeof socket !== 'object') return '';
  const s = socket as Record<string, unknown>;
  const why = s.reason === 'foreign-card' ? " (not this household's home card)" : s.reason === 'card-mute' ? ' (the card does not answer its reset)' : '';
  const parts = [`socket ${String(s.backend)}: ${s.present ? 'card in' : 'empty'}, ${String(s.state)}${why}`];
  if (s.atr)
    parts.push(
      `ATR ${String(s.atr)}`,
      `${String(s.protocol)} IFSC ${String(s.ifsc)} EDC ${String(s.edc)} BWI ${String(s.bwi)} CWI ${String(s.cwi)}`,
      `Fi/Di ${String(s.fi)}/${String(s.di)}, PPS ${String(s.pps)}`,
    );
  return `\n${parts.join('; ')}`;
}
