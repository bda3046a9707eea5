/**
 * The sandbox's mail wiring: the embedded broker admits only the users in
 * `<data>/mqtt/homegate.passwd` (BROKER_USERS_FILE), as a household's
 * Mosquitto does. The gateway's own user gets a random password kept in
 * `<data>/mqtt/gateway.password` (0600, gateway.json's mqtt.passwordFile);
 * each terminal profile gets its broker login and the pinned card certificate
 * (profiles made before these existed are completed on the next start).
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OPTIONAL_PROFILE_FILES } from '../../../card-io/access-card/terminal-profile.js';
import { ensureDirectory, isErrno } from '../../../card-io/base/durable/atomic-file.js';
import { derToPem } from '../../../provisioning/pki/index.js';
import {
  BROKER_USERS_FILE,
  GATEWAY_BROKER_USER,
  generateBrokerPassword,
  readBrokerUsers,
  setBrokerUser,
  type BrokerCredentials,
} from '../../../gateway/notify/broker-users.js';
import { dataPath } from '../../../gateway/config/gateway-config.js';

export const GATEWAY_PASSWORD_FILE = 'mqtt/gateway.password';
/** The sandbox's dashboard user (deploy/mosquitto/acl) and where its password is kept. */
export const DASHBOARD_BROKER_USER = 'homegate-dashboard';
export const DASHBOARD_PASSWORD_FILE = 'mqtt/dashboard.password';

async function readOptional(path: string): Promise<string | undefined> {
  return readFile(path, 'utf8').catch((e: unknown) => {
    if (isErrno(e, 'ENOENT')) return undefined;
    throw e;
  });
}

/** The gateway's broker user, created on the first run; returns what gateway.json's `mqtt` needs. */
export async function ensureGatewayBrokerUser(dataDir: string): Promise<{ username: string; passwordFile: string }> {
  await ensureBrokerUser(dataDir, GATEWAY_BROKER_USER, GATEWAY_PASSWORD_FILE);
  return { username: GATEWAY_BROKER_USER, passwordFile: GATEWAY_PASSWORD_FILE };
}

/** The dashboard user of deploy/mosquitto/acl (Home Assistant logs in with it); its password in DASHBOARD_PASSWORD_FILE (0600). */
export async function ensureDashboardBrokerUser(dataDir: string): Promise<void> {
  await ensureBrokerUser(dataDir, DASHBOARD_BROKER_USER, DASHBOARD_PASSWORD_FILE);
}

async function ensureBrokerUser(dataDir: string, username: string, passwordFile: string): Promise<void> {
  const usersFile = dataPath(dataDir, BROKER_USERS_FILE);
  const passwordPath = dataPath(dataDir, passwordFile);
  let password = (await readOptional(passwordPath))?.trim();
  if (!password) {
    password = generateBrokerPassword();
    await ensureDirectory(dataPath(dataDir, 'mqtt'));
    await writeFile(passwordPath, `${password}\n`, { mode: 0o600 });
  }
  if (!(await readBrokerUsers(usersFile)).has(username)) await setBrokerUser(usersFile, { username, password });
}

/** Completes an older profile: pins the card certificate and gives the terminal its broker user. */
export async function completeProfileMail(profileDir: string, terminalId: string, cardCertificate: Uint8Array | undefined, usersFile: string): Promise<void> {
  const cardPath = join(profileDir, OPTIONAL_PROFILE_FILES.cardCertificate);
  if (cardCertificate && (await readOptional(cardPath)) === undefined) await writeFile(cardPath, derToPem(Buffer.from(cardCertificate)), { mode: 0o644 });
  const brokerPath = join(profileDir, OPTIONAL_PROFILE_FILES.broker);
  if ((await readOptional(brokerPath)) === undefined) {
    const broker = { username: terminalId, password: generateBrokerPassword() };
    await writeFile(brokerPath, `${JSON.stringify(broker)}\n`, { mode: 0o600, flag: 'wx' });
    await setBrokerUser(usersFile, broker);
  }
}

/** The broker logins of the profiles under `<data>/terminals` whose terminal is one of `terminalIds`. */
export async function terminalBrokerLogins(dataDir: string, terminalIds: ReadonlySet<string>): Promise<BrokerCredentials[]> {
  const dir = join(dataDir, 'terminals');
  const names = await readdir(dir).catch(() => [] as string[]);
  const logins: BrokerCredentials[] = [];
  for (const name of names) {
    const text = await readOptional(join(dir, name, OPTIONAL_PROFILE_FILES.broker)).catch(() => undefined);
    if (text === undefined) continue;
    try {
      const b = JSON.parse(text) as BrokerCredentials;
      if (terminalIds.has(b.username) && typeof b.password === 'string') logins.push({ username: b.username, password: b.password });
    } catch {
      // a broken broker.json: that terminal's first read reports it
    }
  }
  return logins;
}
