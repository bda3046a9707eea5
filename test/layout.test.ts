/**
 * Imports go one way (docs/ARCHITECTURE.md, "Folders, and which way imports
 * go"). Read from the sources, so a new upward import fails here, not in review.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Repository paths each source file imports (relative specifiers only). */
function imports(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]!);
  return specs.map((s) => relative(ROOT, normalize(join(ROOT, dirname(file), s))));
}

function violations(dir: string, allowed: (target: string, file: string) => boolean): string[] {
  return sources(dir).flatMap((f) =>
    imports(f)
      .filter((t) => !allowed(t, f))
      .map((t) => `${f} → ${t}`),
  );
}

const under = (p: string, ...dirs: string[]) => dirs.some((d) => p === d || p.startsWith(`${d}/`));

test('card-io imports nothing of the gateway, provisioning or deploy', (t) => {
  t.deepEqual(
    violations('card-io', (target) => under(target, 'card-io')),
    [],
  );
});

test('card-io/base, the ground floor, imports nothing but itself', (t) => {
  t.deepEqual(
    violations('card-io/base', (target) => under(target, 'card-io/base')),
    [],
  );
});

test('provisioning imports only card-io and itself', (t) => {
  t.deepEqual(
    violations('provisioning', (target) => under(target, 'card-io', 'provisioning')),
    [],
  );
});

test("Only the CLI's sandbox command imports the sandbox; the gateway imports nothing else of deploy", (t) => {
  t.deepEqual(
    violations('gateway', (target, file) => !under(target, 'deploy') || file === 'gateway/cli/sandbox-command.ts'),
    [],
  );
});

test('The sandbox market and issuer use nothing of the gateway', (t) => {
  t.deepEqual(
    violations('deploy/sandbox/market', (target) => !under(target, 'gateway')),
    [],
  );
  t.deepEqual(
    violations('deploy/sandbox/issuer', (target) => !under(target, 'gateway')),
    [],
  );
});
