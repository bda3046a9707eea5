/**
 * `homegate terminal ...`: the access card on a household member's terminal
 * (claims 7, 10). PINs come from a TTY prompt or stdin lines, never argv or
 * environment. Only `terminal unlock` reads PIN1; every other command reads
 * at most PIN2 and, when the card session is closed, fails with exit code 3
 * before reading anything, so a script's lines never reach the wrong PIN.
 */
import type { Command } from 'commander';
import type { AccessCard } from '../../card-io/access-card/access-card.js';
import { sessionToPem, type HandedSession } from '../../card-io/access-card/handed-session.js';
import type { MarketResponse } from '../../card-io/access-card/market-request.js';
import { checkSessionFileTarget, writeSessionFile } from '../../card-io/access-card/session-file.js';
import { resolveDataDir } from './data-dir.js';
import { createSecretReader } from './read-secret.js';
import { chooseProfileDir } from './terminal-profile-dir.js';
import { registerPurseCommands } from './purse-commands.js';

interface TerminalFlags {
  profile?: string;
  json?: boolean;
}

async function openAccessCard(program: Command, flags: { profile?: string }): Promise<{ access: AccessCard; done: () => void; profileDir: string }> {
  const dataDir = resolveDataDir(program.opts<{ data?: string }>().data);
  const profileDir = await chooseProfileDir(dataDir, flags.profile);
  const { loadTerminalProfile } = await import('../../card-io/access-card/terminal-profile.js');
  const { AccessCard } = await import('../../card-io/access-card/access-card.js');
  const profile = await loadTerminalProfile(profileDir);
  const reader = createSecretReader();
  const access = new AccessCard(profile, (which) => reader.read(`${which} for the home card`), { unlockWhenLocked: false });
  return {
    access,
    done: () => {
      reader.close();
      access.close();
    },
    profileDir,
  };
}

function sessionSummary(s: HandedSession): Record<string, unknown> {
  // Everything but the session itself.
  return {
    market: s.market,
    host: s.host,
    port: s.port,
    servername: s.servername,
    alpn: s.alpn,
    ticketLifetimeSeconds: s.ticketLifetimeSeconds,
    clientSubject: s.clientSubject,
    certificateExpiresAt: s.certificateExpiresAt,
  };
}

function printResponse(r: MarketResponse, s: HandedSession, json: boolean): void {
  const text = r.body.toString('utf8');
  if (json) {
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    process.stdout.write(JSON.stringify({ status: r.status, resumed: r.resumed, ...sessionSummary(s), body }) + '\n');
  } else {
    process.stderr.write(`${s.market}: HTTP ${r.status} on a resumed session as "${s.clientSubject}"\n`);
    process.stdout.write(text.endsWith('\n') ? text : text + '\n');
  }
  if (r.status >= 400) process.exitCode = 1;
}

export function registerTerminalCommands(program: Command): void {
  const terminal = program
    .command('terminal')
    .description('the access card: use the home card through the gateway from this terminal')
    .addHelpText(
      'after',
      '\nPINs are asked on the TTY, or read one per line from stdin. Only "terminal unlock" reads PIN1;\n' +
        '"session", "get", "post" and "pay" read one line, PIN2; the others read none. When this\n' +
        "terminal's card session is closed, the commands that need it (session, get, post, pay, cancel,\n" +
        'topup, balance) fail with exit code 3 before reading any PIN: run "homegate terminal unlock" first.',
    );
  registerPurseCommands(terminal, (flags) => openAccessCard(program, flags));
  const common = (c: Command) =>
    c.option('--profile <name>', 'terminal profile under <data>/terminals (default: the only one, or "demo")').option('--json', 'machine-readable output');

  common(terminal.command('unlock').description("open this terminal's card session with PIN1")).action(async (flags: TerminalFlags) => {
    const { access, done } = await openAccessCard(program, flags);
    try {
      await access.unlock();
      process.stdout.write(flags.json ? '{"unlocked":true}\n' : 'card session open\n');
    } finally {
      done();
    }
  });

  common(terminal.command('lock').description("close this terminal's card session")).action(async (flags: TerminalFlags) => {
    const { access, done } = await openAccessCard(program, flags);
    try {
      await access.lock();
      process.stdout.write(flags.json ? '{"unlocked":false}\n' : 'card session closed\n');
    } finally {
      done();
    }
  });

  common(
    terminal
      .command('session')
      .description('authorize a market and write the handed TLS session as OpenSSL SSL_SESSION PEM (openssl s_client -sess_in FILE)')
      .argument('<market>', 'registered market name')
      .requiredOption('--out <file>', 'where to write the session PEM (mode 0600: it is a secret)'),
  ).action(async (market: string, flags: TerminalFlags & { out: string }) => {
    await checkSessionFileTarget(flags.out); // before any PIN is asked
    const { access, done } = await openAccessCard(program, flags);
    try {
      const s = await access.authorize(market);
      await writeSessionFile(flags.out, sessionToPem(s.session));
      const summary = { ...sessionSummary(s), sessionFile: flags.out };
      const written = `session for ${s.market} (${s.host}:${s.port}, SNI ${s.servername}) written to ${flags.out}\n`;
      process.stdout.write(flags.json ? JSON.stringify(summary) + '\n' : written);
    } finally {
      done();
    }
  });

  common(terminal.command('get').description('GET a path on a market over the resumed delegated session').argument('<market>').argument('<path>')).action(
    async (market: string, path: string, flags: TerminalFlags) => {
      const { access, done } = await openAccessCard(program, flags);
      try {
        const { session, response } = await access.request(market, { method: 'GET', path });
        printResponse(response, session, flags.json ?? false);
      } finally {
        done();
      }
    },
  );

  // --json means machine-readable output on every command; the request body is --body (--data names the data directory).
  common(
    terminal
      .command('post')
      .description('POST JSON to a market over the resumed delegated session')
      .argument('<market>')
      .argument('<path>')
      .option('--body <json>', 'request body (JSON)')
      // So that the old `--json BODY` gets the message below instead of "too many arguments".
      .allowExcessArguments(),
  ).action(async (market: string, path: string, flags: TerminalFlags & { body?: string }, command: Command) => {
    if (command.args.length > 2) {
      command.error('error: --json takes no value (it asks for machine-readable output); give the request body with --body JSON', {
        code: 'homegate.post-body',
        exitCode: 2,
      });
    }
    const body = flags.body;
    if (body === undefined) command.error('error: give the request body with --body JSON', { code: 'homegate.post-body', exitCode: 2 });
    try {
      JSON.parse(body); // refuse malformed JSON before asking for PINs
    } catch {
      command.error('error: the request body (--body) is not valid JSON', { code: 'homegate.post-body', exitCode: 2 });
    }
    const { access, done } = await openAccessCard(program, flags);
    try {
      const { session, response } = await access.request(market, { method: 'POST', path, body });
      printResponse(response, session, flags.json ?? false);
    } finally {
      done();
    }
  });
}
