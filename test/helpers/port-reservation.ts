/**
 * TCP ports for test peers that are started later (a sandbox, Mosquitto,
 * nginx, a card line), reserved so no other test can take them meanwhile.
 *
 * Binding port 0 and closing it again is not enough: the port returned comes
 * from the kernel's ephemeral range, which every outgoing connection of every
 * test process draws its local port from, and the next port-0 bind of another
 * ava worker may get it too. So ports are taken below that range
 * (`/proc/sys/net/ipv4/ip_local_port_range`, 32768 by default), and each one
 * is claimed across processes with a lock file created exclusively in a shared
 * directory; a claim whose process has died is taken over. Within a process a
 * port is never handed out twice.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const FIRST = 20_000;
const DIRECTORY = join(tmpdir(), 'homegate-test-ports');
const mine = new Set<number>();
let released = false;
let registered = false;

/** The upper end (exclusive) of the range ports are reserved from: the kernel's first ephemeral port. */
function ephemeralStart(): number {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(first) && first > FIRST + 1000) return first;
  } catch {
    // not Linux: fall back to the IANA dynamic range's start
  }
  return 32_768;
}
const LAST = ephemeralStart();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Claims `port` for this process (released at exit); false if a live process holds it. Exported for its test. */
export function claimPort(port: number): boolean {
  ensureDirectory();
  const file = join(DIRECTORY, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      mine.add(port);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let holder = Number.NaN;
    try {
      holder = Number(readFileSync(file, 'utf8'));
    } catch {
      // removed meanwhile: another process is taking it over
    }
    // A claim being written has no pid yet; leave it to its writer.
    if (!Number.isInteger(holder) || holder <= 0 || holder === process.pid || alive(holder)) return false;
    rmSync(file, { force: true });
  }
  return false;
}

function ensureDirectory(): void {
  if (registered) return;
  registered = true;
  mkdirSync(DIRECTORY, { recursive: true, mode: 0o1777 });
  process.once('exit', releaseMine);
}

function releaseMine(): void {
  if (released) return;
  released = true;
  for (const port of mine) rmSync(join(DIRECTORY, String(port)), { force: true });
}

function bindable(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * A TCP port on `host` that is free, outside the ephemeral range, and held for
 * this process until it exits. Throws if none is found after many tries.
 */
export async function reservePort(host = '127.0.0.1'): Promise<number> {
  const span = LAST - FIRST;
  const start = FIRST + Math.floor(Math.random() * span);
  for (let i = 0; i < 2000; i++) {
    const port = FIRST + ((start - FIRST + i * 7919) % span);
    if (mine.has(port) || !claimPort(port)) continue;
    if (await bindable(port, host)) return port;
    // In use by something that does not claim ports (a service on this machine): leave it.
    mine.delete(port);
    rmSync(join(DIRECTORY, String(port)), { force: true });
  }
  throw new Error(`no free TCP port on ${host} in ${FIRST}–${LAST - 1} after 2000 tries (claims in ${DIRECTORY})`);
}
