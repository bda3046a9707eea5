/**
 * Ports reserved for test peers (test/helpers/port-reservation.ts): never
 * twice, across ava's worker processes too, never in the kernel's ephemeral
 * range (where outgoing connections and port-0 binds take theirs), and a
 * claim of a process that died is taken over.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { claimPort, reservePort } from './helpers/port-reservation.js';

const HELPER = fileURLToPath(new URL('./helpers/port-reservation.js', import.meta.url));

interface Child {
  pid: number;
  ports: number[];
  /** Kills the child at once: no exit handler runs, its claim files stay behind. */
  kill(): Promise<void>;
  /** Ends the child (it holds its ports until then) and waits for its exit. */
  end(): Promise<void>;
}

/** A child process that reserves `count` ports, prints them, and holds them until its stdin closes. */
function reserveInChild(count: number): Promise<Child> {
  const script = `import { reservePort } from ${JSON.stringify(HELPER)};
    const ports = []; for (let i = 0; i < ${count}; i++) ports.push(await reservePort());
    console.log(JSON.stringify(ports));
    process.stdin.resume(); process.stdin.on('end', () => process.exit(0));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.endsWith('\n'))
        resolve({ pid: child.pid!, ports: JSON.parse(out) as number[], kill: () => (child.kill('SIGKILL'), exited), end: () => (child.stdin.end(), exited) });
    });
    child.once('exit', (code) => reject(new Error(`the child exited with ${code} before printing its ports: ${out}`)));
  });
}

test('three processes reserving ports at once never get the same one, and none in the ephemeral range', async (t) => {
  const [a, b, mineNow] = await Promise.all([reserveInChild(150), reserveInChild(150), Promise.all(Array.from({ length: 150 }, () => reservePort()))]);
  t.teardown(() => Promise.all([a.end(), b.end()]));
  const all = [...a.ports, ...b.ports, ...mineNow];
  t.is(new Set(all).size, all.length);
  const ephemeral = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0]);
  t.true(all.every((p) => p >= 20_000 && p < ephemeral));
});

test("a port held by a live process is not handed out; an exiting process releases its ports, and a killed one's are taken over", async (t) => {
  const mine = await reservePort();
  const file = join(tmpdir(), 'homegate-test-ports', String(mine));
  t.is(Number(readFileSync(file, 'utf8')), process.pid);
  const child = await reserveInChild(20);
  t.false(child.ports.includes(mine));
  const claim = join(tmpdir(), 'homegate-test-ports', String(child.ports[0]));
  t.is(readFileSync(claim, 'utf8'), String(child.pid));
  t.false(claimPort(child.ports[0]!), 'held by a live process');
  await child.end();
  // Released at exit: the claim file is gone.
  t.throws(() => readFileSync(claim), { code: 'ENOENT' });

  const killed = await reserveInChild(1);
  await killed.kill();
  const stale = join(tmpdir(), 'homegate-test-ports', String(killed.ports[0]));
  t.is(readFileSync(stale, 'utf8'), String(killed.pid), 'a killed process leaves its claim');
  t.true(claimPort(killed.ports[0]!), 'taken over from the dead process');
  t.is(readFileSync(stale, 'utf8'), String(process.pid));
});
