/**
 * Runs an external program the flashing needs (npm, tar, ssh) without a
 * shell: arguments are passed as they are, so a path with spaces or quotes
 * can never become a command. Its output is collected; a non-zero exit is a
 * DeviceError naming the program and the end of its stderr (never its argv,
 * which may hold a host name but never a secret: no secret is ever passed on
 * a command line).
 */
import { spawn } from 'node:child_process';
import { DeviceError } from './device-error.js';

export interface ToolResult {
  stdout: Buffer;
  stderr: string;
}

export interface ToolOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Piped to the program's stdin, which then ends. */
  input?: NodeJS.ReadableStream;
}

export function runTool(command: string, args: readonly string[], o: ToolOptions = {}): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: o.cwd, env: o.env ?? process.env, stdio: [o.input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => {
      err = (err + b.toString('utf8')).slice(-4000);
    });
    if (o.input) o.input.pipe(child.stdin!);
    child.once('error', (e: NodeJS.ErrnoException) =>
      reject(new DeviceError('tool-failed', `Cannot run ${command} (${e.code ?? e.message}); is it installed?`, { command }, { cause: e })),
    );
    child.once('close', (code, signal) => {
      if (code === 0) resolve({ stdout: Buffer.concat(out), stderr: err });
      else {
        const tail = err.trim().split('\n').slice(-5).join('\n');
        reject(new DeviceError('tool-failed', `${command} failed (${signal ?? `exit ${code}`})${tail ? `:\n${tail}` : ''}`, { command, exitCode: code }));
      }
    });
  });
}
