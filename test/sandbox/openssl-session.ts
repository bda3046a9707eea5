/**
 * The OpenSSL command line against a market, with a session Node serialized
 * (DER `SSL_SESSION`): read its ticket lifetime hint, and resume it with
 * `openssl s_client -sess_in` after `openssl sess_id` converted it to PEM.
 * Asynchronous throughout: the market under test may run in this process.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

function run(args: readonly string[], input: string | Buffer, timeoutMs = 10_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
    // openssl may exit before it reads its input (sess_id -in FILE never does): the pipe then breaks,
    // which is not a failure of the command; its exit code and output say how it went.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

/** `TLS session ticket lifetime hint: N (seconds)` from `openssl sess_id -text`. */
export async function ticketLifetimeHint(sessionDer: Buffer): Promise<number | undefined> {
  const { out } = await run(['sess_id', '-inform', 'DER', '-text', '-noout'], sessionDer);
  const m = /lifetime hint:\s*(\d+)/.exec(out);
  return m ? Number(m[1]) : undefined;
}

export interface SClientResult {
  /** s_client printed `Reused, TLSv1.3`. */
  reused: boolean;
  /** The HTTP response body parsed as JSON, when there was one. */
  body: unknown;
  output: string;
}

/** Converts the session to PEM in `dir` and GETs `path` with `s_client -sess_in` (no client certificate). */
export async function resumeWithSClient(o: { port: number; sessionDer: Buffer; marketCaPath: string; dir: string; path?: string }): Promise<SClientResult> {
  const derPath = join(o.dir, 'session.der');
  const pemPath = join(o.dir, 'session.pem');
  await writeFile(derPath, o.sessionDer, { mode: 0o600 });
  const conv = await run(['sess_id', '-inform', 'DER', '-outform', 'PEM', '-in', derPath, '-out', pemPath], '');
  if (conv.code !== 0) throw new Error(`openssl sess_id failed: ${conv.out}`);
  const request = `GET ${o.path ?? '/whoami'} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`;
  const { out } = await run(
    [
      's_client',
      '-connect',
      `127.0.0.1:${o.port}`,
      '-servername',
      'localhost',
      '-sess_in',
      pemPath,
      '-CAfile',
      o.marketCaPath,
      '-alpn',
      'http/1.1',
      '-tls1_3',
      '-verify_return_error',
      '-ign_eof',
    ],
    request,
  );
  return { reused: /^Reused, TLSv1\.3/m.test(out), body: httpJsonBody(out), output: out };
}

/** The JSON body of the first HTTP response in s_client's output, cut at its Content-Length. */
function httpJsonBody(out: string): unknown {
  const start = out.indexOf('HTTP/1.1 ');
  const headEnd = out.indexOf('\r\n\r\n', start);
  if (start < 0 || headEnd < 0) return undefined;
  const length = /^content-length:\s*(\d+)/im.exec(out.slice(start, headEnd));
  if (!length) return undefined;
  const text = Buffer.from(out.slice(headEnd + 4))
    .subarray(0, Number(length[1]))
    .toString();
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
