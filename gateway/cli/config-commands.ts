/**
 * `homegate config check` (every problem of gateway.json at once; exit 0
 * valid, 2 problems found) and `homegate config show` (the effective
 * configuration, defaults filled in, secrets masked). Keys are documented in
 * docs/CONFIGURATION.md, generated from the schema (npm run docs:config).
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { resolveDataDir } from './data-dir.js';

/** gateway.json has problems (the list is printed). */
export const EXIT_CONFIG_INVALID = 2;

export function registerConfigCommands(program: Command): void {
  const dataDir = () => resolveDataDir(program.opts<{ data?: string }>().data);
  const config = program.command('config').description("the gateway's configuration, <data>/gateway.json (docs/CONFIGURATION.md)");
  config
    .command('check')
    .description('validate gateway.json and the files it names; every problem at once (exit 0 valid, 2 problems)')
    .option('--config <file>', 'configuration file (default: <data>/gateway.json)')
    .option('--json', 'machine-readable output')
    .action(async (f: { config?: string; json?: boolean }) => {
      const { checkConfigFile } = await import('../config/config-check.js');
      const dir = dataDir();
      const r = await checkConfigFile(f.config ?? join(dir, 'gateway.json'), dir);
      if (f.json) process.stdout.write(`${JSON.stringify({ file: r.file, valid: r.valid, problems: r.problems })}\n`);
      else if (r.valid) process.stdout.write(`${r.file}: valid\n`);
      else process.stdout.write(`${r.file}: ${r.problems.length} problem(s)\n${r.problems.map((p) => `  - ${p}\n`).join('')}`);
      if (!r.valid) process.exitCode = EXIT_CONFIG_INVALID;
    });
  config
    .command('show')
    .description('print the effective configuration: defaults filled in, secret values masked (paths to key files are shown)')
    .option('--config <file>', 'configuration file (default: <data>/gateway.json)')
    .option('--json', 'one line of JSON (default: indented)')
    .action(async (f: { config?: string; json?: boolean }) => {
      const { loadGatewayConfig } = await import('../config/gateway-config.js');
      const { maskSecrets } = await import('../config/config-check.js');
      const effective = maskSecrets(await loadGatewayConfig(f.config ?? join(dataDir(), 'gateway.json')));
      process.stdout.write(`${JSON.stringify(effective, null, f.json ? undefined : 2)}\n`);
    });
}
