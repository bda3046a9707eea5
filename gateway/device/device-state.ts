/**
 * What a new gateway's data directory (/var/lib/homegate) starts with, from
 * the answers given to `homegate provision device` and the household's
 * files: gateway.json and the keys. Written once, on the first flash:
 * re-flashing replaces the software and keeps the data directory
 * (release-install.ts).
 *
 * The household folder is `homegate provision household --out DIR`'s
 * (docs/PROVISIONING.md): `DIR/gateway/pki/` holds exactly what the gateway
 * needs; only those five files are read, so nothing else of DIR (above all
 * DIR/household-ca.key, the household root, which never leaves the
 * provisioning machine) can reach a bundle. As a second guard, no key that
 * goes into the bundle may be the root key.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isErrno } from '../../card-io/base/durable/atomic-file.js';
import { readSecretFile } from '../../card-io/base/durable/secret-file.js';
import { GATEWAY_PKI_FILES } from '../../provisioning/household-pki.js';
import { parseGatewayConfig } from '../config/gateway-config.js';
import { DeviceError } from './device-error.js';

/** The data directory on the device (the systemd unit's HOMEGATE_DATA). */
export const DEVICE_DATA_DIR = '/var/lib/homegate';

/** The gateway's files in a household folder (household-pki.ts names them), relative to it, and where each goes in the data directory. */
export const HOUSEHOLD_GATEWAY_FILES = Object.values(GATEWAY_PKI_FILES).map((name) => ({
  from: `gateway/pki/${name}`,
  to: `pki/${name}`,
  secret: name.endsWith('.key'),
}));

/** The household root's key in a household folder: never copied, only compared against. */
export const HOUSEHOLD_ROOT_KEY = 'household-ca.key';

export interface DeviceAnswers {
  /** The home card's line on the device: /dev/serial0, a udev name, or tcp://host:port. */
  cardDevice: string;
  /** Terminal listener port. Default 8443. */
  port?: number;
  /** MQTT broker URL as the gateway reaches it (mqtt://127.0.0.1:1883 for Mosquitto on the board). */
  mqttUrl?: string;
  /** The broker URL terminals on the LAN are given (mqtts://<host>.local:8883, Mosquitto's TLS listener); with mqttUrl. */
  mqttTerminalUrl?: string;
  mqttUsername?: string;
  /** A file on this machine holding the gateway's broker password (0600); copied to the device, never into gateway.json. */
  mqttPasswordFile?: string;
  /** A file on this machine holding the card's admin key (hex, 0600), for `homegate market add` on the gateway. */
  cardAdminKeyFile?: string;
  /** More of gateway.json (parsed JSON); the answers above win. */
  baseConfig?: Record<string, unknown>;
}

export interface StateFile {
  /** Relative to the data directory. */
  path: string;
  data: Buffer;
  secret: boolean;
}

/** gateway.json and the keys for a new data directory; every problem of the configuration at once (ConfigError). */
export async function buildDeviceState(householdDir: string, a: DeviceAnswers): Promise<StateFile[]> {
  const files: StateFile[] = [];
  for (const f of HOUSEHOLD_GATEWAY_FILES) {
    const p = join(householdDir, f.from);
    try {
      files.push({ path: f.to, data: f.secret ? await readSecretFile(p) : await readFile(p), secret: f.secret });
    } catch (e) {
      if (isErrno(e, 'ENOENT') || isErrno((e as { cause?: unknown }).cause, 'ENOENT')) {
        throw new DeviceError(
          'invalid',
          `${p} is missing: --household must be a folder made by "homegate provision household --out DIR" (it holds gateway/pki/)`,
          { path: p },
        );
      }
      throw e;
    }
  }
  await refuseRootKey(householdDir, files);

  const config: Record<string, unknown> = { ...a.baseConfig };
  const card: Record<string, unknown> = { ...(config.card as Record<string, unknown> | undefined), device: a.cardDevice };
  if (a.cardAdminKeyFile) {
    files.push({ path: 'pki/card-admin.key', data: await readSecretFile(a.cardAdminKeyFile), secret: true });
    card.adminKeyFile = 'pki/card-admin.key';
  }
  config.card = card;
  if (a.port !== undefined) config.terminalApi = { ...(config.terminalApi as Record<string, unknown> | undefined), port: a.port };
  if (a.mqttUrl) {
    const mqtt: Record<string, unknown> = { ...(config.mqtt as Record<string, unknown> | undefined), url: a.mqttUrl };
    if (a.mqttTerminalUrl) mqtt.terminalUrl = a.mqttTerminalUrl;
    if (a.mqttUsername) mqtt.username = a.mqttUsername;
    if (a.mqttPasswordFile) {
      files.push({ path: 'mqtt/gateway.password', data: await readSecretFile(a.mqttPasswordFile), secret: true });
      mqtt.passwordFile = 'mqtt/gateway.password';
    }
    config.mqtt = mqtt;
  }
  parseGatewayConfig(config, 'gateway.json (from the answers)');
  files.push({ path: 'gateway.json', data: Buffer.from(`${JSON.stringify(config, null, 2)}\n`), secret: false });
  return files;
}

/** A key going to the device that is the household root's key would hand the whole household to whoever holds the board. */
async function refuseRootKey(householdDir: string, files: readonly StateFile[]): Promise<void> {
  let rootPublic: string;
  try {
    const pem = await readSecretFile(join(householdDir, HOUSEHOLD_ROOT_KEY));
    rootPublic = createPublicKey(createPrivateKey(pem)).export({ type: 'spki', format: 'der' }).toString('hex');
  } catch {
    return; // the root is kept elsewhere (offline): nothing to compare with
  }
  for (const f of files.filter((x) => x.secret)) {
    const pub = createPublicKey(createPrivateKey(f.data)).export({ type: 'spki', format: 'der' }).toString('hex');
    if (pub === rootPublic) {
      throw new DeviceError('invalid', `${f.path} in the household folder is the household root key; the root never goes onto a gateway`, {
        path: f.path,
      });
    }
  }
}
