/**
 * `homegate panel status|press|long-press|insert|remove`: the gateway's panel
 * through the running gateway's admin socket. press and long-press drive the
 * virtual board's button (the sandbox: a real panel's button is pressed by a
 * finger); insert and remove drive the virtual card socket. Exit 0 when done,
 * 1 when refused (no panel, a real button, no virtual socket).
 */
import type { Command } from 'commander';
import { adminRequest, adminSocketPath } from './admin-client.js';
import { resolveDataDir } from './data-dir.js';

const ACTIONS = {
  press: 'press the confirm button briefly (confirms the payment or top-up that waits)',
  'long-press': 'hold the confirm button past the long-press time (refuses the one that waits)',
  insert: 'insert the card into the virtual socket',
  remove: 'pull the card out of the virtual socket',
} as const;

function describeStatus(p: Record<string, unknown>): string {
  const leds = p.leds as Record<string, string> | undefined;
  const pending = p.pendingConfirmation as { kind: string; amount: number; currency?: string; expiresAt: string } | null | undefined;
  const lines = [
    `panel: ${String(p.plugin)}, pins ${JSON.stringify(p.pins)}`,
    `LEDs: ready ${leds?.ready}, busy ${leds?.busy}, attention ${leds?.attention}`,
    pending
      ? `waiting for the confirm button: ${pending.kind} of ${pending.amount}${pending.currency ? ` ${pending.currency}` : ''} until ${pending.expiresAt}`
      : 'no confirmation waiting',
  ];
  return `${lines.join('\n')}\n`;
}

export function registerPanelCommands(program: Command): void {
  const socket = () => adminSocketPath(resolveDataDir(program.opts<{ data?: string }>().data));
  const panel = program.command('panel').description("the gateway's panel: LEDs, confirm button, and the sandbox's virtual button and card socket");
  panel
    .command('status')
    .description('plugin, pins, LEDs and a confirmation that waits')
    .option('--json', 'machine-readable output')
    .action(async (f: { json?: boolean }) => {
      const r = await adminRequest(socket(), 'GET', '/admin/panel');
      const p = r.panel as Record<string, unknown>;
      process.stdout.write(f.json ? `${JSON.stringify(p)}\n` : describeStatus(p));
    });
  for (const [action, description] of Object.entries(ACTIONS)) {
    panel
      .command(action)
      .description(description)
      .option('--json', 'machine-readable output')
      .action(async (f: { json?: boolean }) => {
        const r = await adminRequest(socket(), 'POST', `/admin/panel/${action}`, {});
        process.stdout.write(f.json ? `${JSON.stringify(r)}\n` : `${action}: done\n${describeStatus(r.panel as Record<string, unknown>)}`);
      });
  }
}
