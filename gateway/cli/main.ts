/**
 * `homegate`: one command-line entry with subcommands, each with --help.
 * Parsing is commander's; each area registers its own subcommands.
 */
import { Command, CommanderError } from 'commander';
import { isCardLocked } from '../../card-io/access-card/access-card-error.js';
import { isCardError } from '../../card-io/errors.js';
import { GATEWAY_VERSION } from '../version.js';
import { registerCardCommands } from './card-commands.js';
import { registerDoctorCommand } from './doctor-command.js';
import { registerGatewayCommands } from './gateway-commands.js';
import { registerSandboxCommand } from './sandbox-command.js';
import { registerTerminalCommands } from './terminal-commands.js';

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
  return program;
}

/** A command needed this terminal's card session and it was closed. */
export const EXIT_CARD_LOCKED = 3;

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    // Exit 3: this terminal's card session is closed; "homegate terminal unlock" first (README).
    if (isCardLocked(e)) {
      process.stderr.write(`homegate: ${(e as Error).message}\n`);
      return EXIT_CARD_LOCKED;
    }
    // Typed errors carry a clear message; anything else is a bug: show the stack.
    if (isCardError(e) || isTypedError(e)) process.stderr.write(`homegate: ${(e as Error).message}\n`);
    else process.stderr.write(`homegate: ${(e as Error)?.stack ?? String(e)}\n`);
    return 1;
  }
}

/** Our error classes carry a `code` (or a list of problems) and a message written for people. */
function isTypedError(e: unknown): boolean {
  return e instanceof Error && ('code' in e || 'problems' in e || e.name === 'PortInUseError') && !('syscall' in e);
}

const code = await main(process.argv);
// Commands that start servers (emulate, sandbox) keep the process alive themselves.
if (code !== 0) process.exit(code);
