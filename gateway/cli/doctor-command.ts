/**
 * `homegate doctor [--repair] [--json]`: checks the durable files of the data
 * directory (gateway/setup/archive-doctor.ts) and, with --repair, fixes what
 * can be fixed. Exit codes:
 *   0  everything is healthy (after repair, when --repair was given)
 *   2  damage found (run again with --repair)
 *   3  damage left after --repair (e.g. a missing registry: restore a backup)
 *   4  --repair refused: the gateway is running (stop it first)
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { adminSocketPath, gatewayAnswers } from './admin-client.js';
import { resolveDataDir } from './data-dir.js';

export const DOCTOR_EXIT = { healthy: 0, damaged: 2, unrepaired: 3, gatewayRunning: 4 } as const;

export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description(
      'check the registry, history, intent journals and outbox; --repair fixes what it can (exit 0 healthy, 2 damaged, 3 damage left, 4 gateway ' + 'running)',
    )
    .option('--repair', 'cut torn tails, move damaged files aside and keep their verified records (the gateway must be stopped)')
    .option('--json', 'print the report as JSON')
    .action(async (f: { repair?: boolean; json?: boolean }) => {
      const dataDir = resolveDataDir(program.opts<{ data?: string }>().data);
      const { loadGatewayConfig } = await import('../config/gateway-config.js');
      const { runDoctor } = await import('../setup/archive-doctor.js');
      const config = await loadGatewayConfig(join(dataDir, 'gateway.json')).catch(() => undefined);
      const socket = config ? join(dataDir, config.adminSocket) : adminSocketPath(dataDir);
      if (f.repair && (await gatewayAnswers(socket))) {
        process.stderr.write('homegate: the gateway is running; stop it before `homegate doctor --repair`\n');
        process.exitCode = DOCTOR_EXIT.gatewayRunning;
        return;
      }
      const report = await runDoctor({
        dataDir,
        registryFile: config?.registryFile ?? 'registry.json',
        historyDir: config?.historyDir ?? 'history',
        repair: f.repair === true,
      });
      if (f.json) process.stdout.write(JSON.stringify(report) + '\n');
      else {
        for (const r of report.files) process.stdout.write(`${r.status.padEnd(14)} ${r.file}${r.detail ? `  (${r.detail})` : ''}\n`);
        process.stdout.write(report.healthy ? 'healthy\n' : f.repair ? 'damage left: see above\n' : 'damaged: run `homegate doctor --repair`\n');
      }
      process.exitCode = report.healthy ? DOCTOR_EXIT.healthy : f.repair ? DOCTOR_EXIT.unrepaired : DOCTOR_EXIT.damaged;
    });
}
