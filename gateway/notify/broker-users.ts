/**
 * The MQTT broker's users: one password file in Mosquitto's own format, so
 * the same file serves the embedded broker (embedded-broker.ts) and a
 * household's Mosquitto (`password_file` in deploy/mosquitto/homegate.conf).
 *
 *   <username>:$7$<iterations>$<base64 salt>$<base64 PBKDF2-SHA512 hash>
 *
 * That is what `mosquitto_passwd` 2.x writes (12-byte salt, 64-byte hash,
 * 101 iterations by default). Only hashes are stored: the terminal's password
 * itself lives in its profile (broker.json, 0600) and nowhere else.
 *
 * Users: `homegate-gateway` (publishes mail, status, availability, the
 * dashboard's state), one per enrolled terminal, named by its registry id
 * (reads its own mail topic), and dashboard users such as
 * `homegate-dashboard` (deploy/mosquitto/acl says what each may do).
 * A client id is tied to its user (see `clientIdAllowed`), so no user can take
 * over another's persistent session and drain its queued mail.
 */
import { pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ensureDirectory, isErrno, replaceFileAtomically } from '../../card-io/base/durable/atomic-file.js';

export const GATEWAY_BROKER_USER = 'homegate-gateway';
/** Where the gateway keeps the broker's users, relative to its data directory. */
export const BROKER_USERS_FILE = 'mqtt/homegate.passwd';
/** mosquitto_passwd's defaults (Mosquitto 2.0, src/password_mosq.c). */
const ITERATIONS = 101;
const SALT_BYTES = 12;
const HASH_BYTES = 64;
const USERNAME = /^[A-Za-z0-9._-]{1,64}$/;

export interface BrokerCredentials {
  username: string;
  password: string;
}

/** A fresh random password (192 bits), printable and free of ':' and '$'. */
export function generateBrokerPassword(): string {
  return randomBytes(24).toString('base64url');
}

/** The `$7$...` hash of `password`, as mosquitto_passwd writes it. */
export function hashBrokerPassword(password: string, salt: Buffer = randomBytes(SALT_BYTES)): string {
  const hash = pbkdf2Sync(password, salt, ITERATIONS, HASH_BYTES, 'sha512');
  return `$7$${ITERATIONS}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** True when `password` matches the `$7$` hash; compares in constant time. A hash of any other kind never matches. */
export function verifyBrokerPassword(hashed: string, password: string): boolean {
  const m = /^\$7\$(\d{1,7})\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(hashed);
  if (!m) return false;
  const iterations = Number(m[1]);
  const expected = Buffer.from(m[3]!, 'base64');
  if (iterations < 1 || expected.length !== HASH_BYTES) return false;
  const actual = pbkdf2Sync(password, Buffer.from(m[2]!, 'base64'), iterations, HASH_BYTES, 'sha512');
  return timingSafeEqual(actual, expected);
}

/** The users of a password file: username → hash. A missing file has no users. */
export async function readBrokerUsers(path: string): Promise<Map<string, string>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return new Map();
    throw e;
  }
  const users = new Map<string, string>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0 || line.startsWith('#')) continue;
    users.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return users;
}

/**
 * Adds (or replaces) one user, atomically and durably, mode 0600. Mosquitto
 * reads its password file at start and on SIGHUP; the embedded broker on
 * every CONNECT.
 */
export function setBrokerUser(path: string, credentials: BrokerCredentials): Promise<void> {
  if (!USERNAME.test(credentials.username)) return Promise.reject(new TypeError('A broker user name is 1..64 characters of [A-Za-z0-9._-]'));
  // One read-modify-write at a time per file: two enrollments at once must not lose a user.
  return serialized(path, () => writeUser(path, credentials));
}

/** Removes one user (a revoked terminal): its login stops working at its next CONNECT. */
export function removeBrokerUser(path: string, username: string): Promise<void> {
  return serialized(path, () => writeUsers(path, (users) => users.delete(username)));
}

const writes = new Map<string, Promise<unknown>>();

function serialized(path: string, write: () => Promise<void>): Promise<void> {
  const next = (writes.get(path) ?? Promise.resolve()).then(write);
  const settled = next.catch(() => undefined);
  writes.set(path, settled);
  void settled.then(() => writes.get(path) === settled && writes.delete(path));
  return next;
}

function writeUser(path: string, credentials: BrokerCredentials): Promise<void> {
  return writeUsers(path, (users) => users.set(credentials.username, hashBrokerPassword(credentials.password)));
}

async function writeUsers(path: string, change: (users: Map<string, string>) => void): Promise<void> {
  const users = await readBrokerUsers(path);
  change(users);
  await ensureDirectory(dirname(path));
  const text = [...users].map(([u, h]) => `${u}:${h}\n`).join('');
  await replaceFileAtomically(path, text, { mode: 0o600 });
}

/** The client id a terminal's mailbox session uses: `homegate-mail-<terminalId>` (card-io/access-card/mailbox.ts). */
export function terminalClientId(terminalId: string): string {
  return `homegate-mail-${terminalId}`;
}

/**
 * Whether `username` may connect with `clientId`. A terminal only as its own
 * mailbox (`homegate-mail-<its id>`); the gateway only as `homegate-gateway`
 * or `homegate-gateway-<suffix>` (two gateways on one broker), never as a
 * terminal. MQTT 3.1.1 §3.1.4: a CONNECT with a taken client id disconnects
 * the existing client and resumes its session, so this check is what keeps a
 * session and its queued mail with the one user it belongs to.
 */
export function clientIdAllowed(username: string, clientId: string): boolean {
  const gatewayId = clientId === GATEWAY_BROKER_USER || clientId.startsWith(`${GATEWAY_BROKER_USER}-`);
  if (username === GATEWAY_BROKER_USER) return gatewayId;
  if (TERMINAL_USER.test(username)) return clientId === terminalClientId(username);
  // A dashboard's user (Home Assistant picks its own client id): any id that is not the gateway's or a mailbox's.
  return !gatewayId && !clientId.startsWith(terminalClientId(''));
}

/** A terminal's broker user is its registry id: 16 hex digits. */
const TERMINAL_USER = /^[0-9a-f]{16}$/;
