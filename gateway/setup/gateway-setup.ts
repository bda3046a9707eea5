/**
 * First-time setup of a gateway's data directory: the household CA, the
 * gateway's TLS certificate (issued by it, naming the given hosts) and a
 * gateway.json with the card device. Existing files are kept: running it
 * again changes nothing that is already there.
 */
import { access, mkdir, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { replaceFileAtomically } from '../../card-io/base/durable/atomic-file.js';
import { loadOrCreateCa } from '../../provisioning/ca-store.js';
import { issueGatewayServerCertificate } from '../../provisioning/gateway-server-certificate.js';

export interface GatewaySetupOptions {
  dataDir: string;
  /** The card line: /dev/serial0, a udev name, or tcp://host:port. */
  cardDevice: string;
  /** Names and addresses terminals use to reach the gateway. Default localhost and 127.0.0.1. */
  hosts?: string[];
  port?: number;
  adminKeyFile?: string;
  /** Extra configuration merged into a new gateway.json. */
  extra?: Record<string, unknown>;
}

async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}

export async function setupGateway(o: GatewaySetupOptions): Promise<{ configFile: string }> {
  const pki = join(o.dataDir, 'pki');
  await mkdir(pki, { recursive: true, mode: 0o700 });
  // A provisioned household (provision household) brings gateway.pem and no root key: nothing to create then.
  if (!(await exists(join(pki, 'gateway.pem')))) {
    const householdCa = await loadOrCreateCa(pki, 'household-ca', 'CN=homegate household CA');
    const hosts = o.hosts ?? ['localhost', '127.0.0.1'];
    const cert = await issueGatewayServerCertificate(
      householdCa,
      hosts.filter((h) => !isIP(h)),
      hosts.filter((h) => isIP(h)),
    );
    await writeFile(join(pki, 'gateway.key'), cert.keyPem, { mode: 0o600 });
    await writeFile(join(pki, 'gateway.pem'), cert.certificatePem, { mode: 0o644 });
  }
  const configFile = join(o.dataDir, 'gateway.json');
  if (!(await exists(configFile))) {
    const config = {
      card: { device: o.cardDevice, ...(o.adminKeyFile ? { adminKeyFile: o.adminKeyFile } : {}) },
      terminalApi: { port: o.port ?? 8443 },
      ...o.extra,
    };
    // Atomic: `homegate status --wait`, started alongside, must never read half a file.
    await replaceFileAtomically(configFile, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  }
  return { configFile };
}
