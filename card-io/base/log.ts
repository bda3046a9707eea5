/**
 * The logging shape card-io needs. pino's Logger satisfies it; tests pass
 * `silentLogger` or a capturing one. Passed in, never a module singleton.
 *
 * Callers log structured fields and guard expensive formatting (hex dumps)
 * with `isLevelEnabled`, so nothing is formatted unless the level is on.
 * Never log a PIN, a key, an APDU data field of VERIFY/PUT DATA, or a session.
 */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

export interface LogFn {
  (obj: Record<string, unknown>, msg?: string): void;
  (msg: string): void;
}

export interface Logger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  isLevelEnabled(level: LogLevel): boolean;
  child(bindings: Record<string, unknown>): Logger;
}

const noop = (() => undefined) as LogFn;

export const silentLogger: Logger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  isLevelEnabled: () => false,
  child: () => silentLogger,
};
