/**
 * Structured logs for the CLI processes: JSON lines on stderr (stdout stays
 * for command output). Level: --log-level, else the command's default
 * ('info' for long-running processes, 'warn' for one-shot commands), else
 * HOMEGATE_LOG_LEVEL. `trace` turns on the direction-tagged T=1 block log.
 */
import { pino } from 'pino';
import type { Logger, LogLevel } from '../../card-io/base/log.js';

export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error'];

export function createLogger(flag: string | undefined, name: string, defaultLevel: LogLevel = 'info'): Logger {
  const chosen = (flag ?? process.env.HOMEGATE_LOG_LEVEL ?? defaultLevel) as LogLevel;
  const valid = LOG_LEVELS.includes(chosen) ? chosen : 'info';
  return pino({ name, level: valid, base: { name } }, pino.destination({ fd: 2, sync: true })) as unknown as Logger;
}
