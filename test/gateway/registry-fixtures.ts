/** Shared set-up for the registry tests: a temp directory, a market anchor, a fake fingerprint. */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../card-io/base/log.js';
import { Registry, type RegistryOptions } from '../../gateway/registry/index.js';
import { createRootCa, derToPem, generateP256KeyPair } from '../../provisioning/pki/index.js';

type Teardown = { teardown(fn: () => Promise<void>): void };

export async function tempRegistryPath(t: Teardown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hg-registry-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'state', 'registry.json');
}

export async function openRegistry(path: string, options: Partial<RegistryOptions> = {}): Promise<Registry> {
  const registry = new Registry({ path, logger: silentLogger, ...options });
  await registry.open();
  return registry;
}

/** A distinct, well-formed certificate fingerprint per label. */
export function fingerprint(label: string): string {
  return createHash('sha256').update(label).digest('hex');
}

let anchor: Promise<string> | undefined;
/** One self-signed CA certificate (PEM) standing in for a market's CA. */
export function marketAnchorPem(): Promise<string> {
  anchor ??= createRootCa({ subject: 'CN=Sandbox Market CA', privateKey: generateP256KeyPair().privateKey }).then((der) => derToPem(der));
  return anchor;
}
