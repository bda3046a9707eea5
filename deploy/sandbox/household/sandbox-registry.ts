/**
 * The sandbox's registry entries, made before the gateway starts: the market
 * "sandbox" (following the market port of this run) and the enrolled demo
 * terminal, whose profile follows the gateway port of this run.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../../card-io/base/log.js';
import { loadTerminalIssuer } from '../../../provisioning/terminal-issuer.js';
import { enrollTerminal } from '../../../gateway/enrollment/enroll-terminal.js';
import { dataPath } from '../../../gateway/config/gateway-config.js';
import { Registry } from '../../../gateway/registry/index.js';
import { completeProfileMail } from './sandbox-mail.js';

export const DEMO_TERMINAL = { name: 'demo', mail: 'demo@household.example' } as const;

export interface SandboxRegistryOptions {
  dataDir: string;
  registryFile: string;
  gatewayUrl: string;
  market: { name: string; url: string; anchorPem: string };
  logger: Logger;
  /** Mail: the card certificate the demo profile pins, and the broker's password file for its broker user. */
  mail?: { cardCertificate?: Uint8Array; brokerUsersFile: string };
}

export async function ensureSandboxRegistry(o: SandboxRegistryOptions): Promise<void> {
  const registry = new Registry({ path: dataPath(o.dataDir, o.registryFile), logger: o.logger });
  await registry.open();
  const existing = registry.getMarket(o.market.name);
  if (existing && existing.url !== new URL(o.market.url).href) await registry.removeMarket(o.market.name);
  if (!registry.getMarket(o.market.name)) await registry.addMarket(o.market);

  const profileDir = join(o.dataDir, 'terminals', DEMO_TERMINAL.name);
  const profileFile = join(profileDir, 'profile.json');
  const profile = await readFile(profileFile, 'utf8').then(
    (t) => JSON.parse(t) as { gatewayUrl: string; terminalId: string },
    () => undefined,
  );
  if (!profile) {
    // The gateway's own terminal issuer (a provisioned household's intermediate, else the household root).
    const householdCa = await loadTerminalIssuer(join(o.dataDir, 'pki'));
    const mail = o.mail ? { brokerUsersFile: o.mail.brokerUsersFile, ...(o.mail.cardCertificate ? { cardCertificate: o.mail.cardCertificate } : {}) } : {};
    const terminalsDir = join(o.dataDir, 'terminals');
    await enrollTerminal({ registry, householdCa, ...DEMO_TERMINAL, gatewayUrl: o.gatewayUrl, terminalsDir, logger: o.logger, ...mail });
    return;
  }
  if (profile.gatewayUrl !== o.gatewayUrl) {
    await writeFile(profileFile, JSON.stringify({ ...profile, gatewayUrl: o.gatewayUrl }, null, 2) + '\n');
  }
  if (o.mail) await completeProfileMail(profileDir, profile.terminalId, o.mail.cardCertificate, o.mail.brokerUsersFile);
}
