/**
 * `homegate`: one command-line entry with subcommands, each with --help.
 * Parsing is commander's; each area registers its own subcommands.
 */
import { Command, CommanderError } from 'commander';
import { GATEWAY_VERSION } from '../version.js';
import { registerBackupCommands } from './backup-commands.js';
import { registerCardCommands } from './card-commands.js';
import { registerDoctorCommand } from './doctor-command.js';
import { errorExit } from './error-exit.js';
import { registerConfigCommands } from './config-commands.js';
import { registerGatewayCommands } from './gateway-commands.js';
import { registerPairingCommands } from './pairing-commands.js';
import { registerProvisionCardCommand } from './provision-card-command.js';
import { registerProvisionHouseholdCommand } from './provision-commands.js';
import { registerProvisionDeviceCommand } from './provision-device-command.js';
import { registerReleaseCommands } from './release-commands.js';
import { registerPanelCommands } from './panel-commands.js';
import { registerSandboxCommand } from './sandbox-command.js';
import { registerTerminalCommands } from './terminal-commands.js';
import { registerTerminalExportCommand } from './terminal-export-command.js';

export function buildProgram(): Command {
  const program = new Command('homegate')
    .description('Home gateway: the home card on a serial line, delegated market authentication, purse and notifications.')
    .version(GATEWAY_VERSION)
    .option('--data <dir>', 'data directory (default: $HOMEGATE_DATA, else $XDG_DATA_HOME/homegate or ~/.local/share/homegate)')
    .option('--log-level <level>', 'trace | debug | info | warn | error (default: $HOMEGATE_LOG_LEVEL or info)')
    .showHelpAfterError()
    .exitOverride();
  registerCardCommands(program);
  registerGatewayCommands(program);
  registerSandboxCommand(program);
  registerTerminalCommands(program);
  registerDoctorCommand(program);
  registerProvisionHouseholdCommand(program);
  registerProvisionCardCommand(program);
  registerPairingCommands(program);
  registerTerminalExportCommand(program);
  registerBackupCommands(program);
  registerReleaseCommands(program);
  registerConfigCommands(program);
  registerProvisionDeviceCommand(program);
  registerPanelCommands(program);
  return program;
}

export { EXIT_CARD_LOCKED } from './error-exit.js';

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    const { exitCode, text } = errorExit(e);
    process.stderr.write(text);
    return exitCode;
  }
}

// Commands that start servers (emulate, sandbox) keep the process alive themselves. No top-level
// await: the device's one-file build (gateway/device/one-file-build.ts) is CommonJS.
void main(process.argv).then((code) => {
  if (code !== 0) process.exit(code);
});
