/**
 * Tells systemd how the gateway is doing (sd_notify(3)): READY=1 once it
 * serves (the unit is Type=notify, so `systemctl start` and units ordered
 * after it wait for that, not for the process to exist) and WATCHDOG=1
 * every half WatchdogSec (systemd restarts a gateway whose event loop hangs).
 *
 * How: the notification socket ($NOTIFY_SOCKET) is an AF_UNIX datagram
 * socket, which Node.js cannot open (node:net has stream sockets only, and
 * node:dgram only UDP). Rather than a native addon (one more binary per
 * architecture in the bundle) we run the system's `systemd-notify` with the
 * assignments as arguments. It sends from its own PID, so the unit needs
 * NotifyAccess=all. A message from a process that has already exited can be
 * dropped (systemd no longer knows its unit); systemd-notify of systemd 246
 * and later waits for systemd to have read it (BARRIER=1, sd_notify_barrier(3)),
 * and for older ones every watchdog ping repeats READY=1, which systemd
 * ignores once the unit runs: a lost READY is made good at the next ping.
 * The child is not waited for. A ping costs one short process every
 * WatchdogSec/2 (15 s with the unit's 30 s).
 *
 * Without $NOTIFY_SOCKET (not under systemd, tests, the sandbox) nothing is
 * sent. Nothing secret is ever sent: the STATUS line is the listener's URL.
 */
import { spawn } from 'node:child_process';
import type { Logger } from '../../card-io/base/log.js';

export interface ServiceNotifierOptions {
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** The program that sends a notification. Default systemd-notify (found on PATH). */
  command?: string;
  pid?: number;
}

export interface ServiceNotifier {
  /** Whether a service manager listens ($NOTIFY_SOCKET set). */
  readonly active: boolean;
  /** The ping interval in ms, when systemd asked for a watchdog. */
  readonly watchdogIntervalMs: number | undefined;
  /** READY=1 with a status line; starts the watchdog pings. */
  ready(status: string): void;
  /** STOPPING=1; stops the pings. */
  stopping(): void;
}

/** Half of $WATCHDOG_USEC, when it is meant for this process ($WATCHDOG_PID absent or ours); sd_watchdog_enabled(3). */
export function watchdogInterval(env: NodeJS.ProcessEnv, pid: number): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isFinite(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID !== undefined && env.WATCHDOG_PID !== '' && Number(env.WATCHDOG_PID) !== pid) return undefined;
  return Math.max(1, Math.floor(usec / 2000));
}

export function createServiceNotifier(o: ServiceNotifierOptions = {}): ServiceNotifier {
  const env = o.env ?? process.env;
  const active = typeof env.NOTIFY_SOCKET === 'string' && env.NOTIFY_SOCKET !== '';
  const command = o.command ?? 'systemd-notify';
  const interval = active ? watchdogInterval(env, o.pid ?? process.pid) : undefined;
  let timer: NodeJS.Timeout | undefined;
  let warned = false;

  const send = (assignments: string[]) => {
    if (!active) return;
    // Only the notification variables go to the child: nothing else of our environment is its business.
    const childEnv: NodeJS.ProcessEnv = { NOTIFY_SOCKET: env.NOTIFY_SOCKET, PATH: env.PATH ?? '/usr/bin:/bin' };
    const child = spawn(command, assignments, { stdio: 'ignore', env: childEnv });
    child.once('error', (e: NodeJS.ErrnoException) => {
      if (warned) return;
      warned = true;
      o.logger?.warn({ command, err: e.code ?? e.message }, 'cannot notify systemd (is systemd-notify installed?); the unit will time out waiting for READY');
    });
    child.unref();
  };

  return {
    active,
    watchdogIntervalMs: interval,
    ready(status) {
      send(['READY=1', `STATUS=${status.replace(/\n/g, ' ')}`]);
      if (interval !== undefined && timer === undefined) {
        timer = setInterval(() => send(['READY=1', 'WATCHDOG=1']), interval);
        timer.unref();
      }
    },
    stopping() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      send(['STOPPING=1']);
    },
  };
}
