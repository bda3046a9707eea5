/**
 * The terminal profile (API.md, terminal profile): what a terminal needs to
 * reach its gateway, in `<data>/terminals/<name>/`:
 *
 *   profile.json      { name, terminalId, gatewayUrl, mail }
 *   terminal.key      PKCS#8 PEM private key, mode 0600
 *   terminal.pem      the client certificate, then the CAs between it and the
 *                     household root (a provisioned household's enrollment
 *                     intermediate), sent with it in the TLS handshake
 *   household-ca.pem  to verify the gateway's server certificate
 *
 * and, from enrollments that hand them over (older profiles lack them):
 *
 *   card.pem          the home card's certificate, pinned: the terminal
 *                     believes only mail this card signed (mailbox.ts)
 *   broker.json       { username, password } of the terminal's own MQTT
 *                     broker user, mode 0600 like the key
 *
 * Loading checks everything a request would otherwise fail on later, with an
 * error that says which file to fix. A key file that group or others can read
 * is refused (level 'warning': nothing is broken yet, but the key may have
 * leaked and will not be used until it is 0600 again, as ssh does).
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CodedError } from '../base/coded-error.js';
import { isErrno, readFileIfExists } from '../base/durable/atomic-file.js';

export const PROFILE_FILES = {
  profile: 'profile.json',
  key: 'terminal.key',
  certificate: 'terminal.pem',
  householdCa: 'household-ca.pem',
} as const;

/** Files of a profile that older enrollments did not write. */
export const OPTIONAL_PROFILE_FILES = {
  cardCertificate: 'card.pem',
  broker: 'broker.json',
} as const;

/** The terminal's MQTT broker login (broker.json): user name = terminal id. */
export interface BrokerLogin {
  username: string;
  password: string;
}

/** The content of profile.json. */
export interface TerminalProfileJson {
  name: string;
  /** 16 hex characters: the JWS `kid`/`tid` of signed requests. */
  terminalId: string;
  /** https URL of the gateway's terminal API. */
  gatewayUrl: string;
  mail: string;
}

export interface TerminalProfile extends TerminalProfileJson {
  /** The terminal's EC P-256 private key (for signing requests). */
  key: KeyObject;
  /** The same key as PKCS#8 PEM: Node 20's `tls` takes PEM, not a KeyObject. */
  keyPem: string;
  certificatePem: string;
  householdCaPem: string;
  /** The pinned home card certificate (card.pem), when the enrollment handed it over. */
  cardCertificatePem?: string;
  /** The terminal's broker login (broker.json), when the enrollment handed it over. Secret. */
  broker?: BrokerLogin;
}

export type TerminalProfileErrorCode =
  /** No profile directory. */
  | 'profile-missing'
  /** The directory lacks one or more of the four files (`context.missing`). */
  | 'profile-incomplete'
  /** A file does not parse or the files do not belong together (`context.file`). */
  | 'profile-invalid'
  /** terminal.key is readable by group or others; refused until chmod 600. */
  | 'key-permissions';

export class TerminalProfileError extends CodedError<TerminalProfileErrorCode> {
  override readonly name = 'TerminalProfileError';
  readonly family = 'terminal-profile';
  /** 'warning' for key-permissions (fix and retry), 'error' otherwise. */
  readonly level: 'error' | 'warning';

  constructor(code: TerminalProfileErrorCode, message: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(code, `${message} (${code})`, context, options);
    this.level = code === 'key-permissions' ? 'warning' : 'error';
  }
}

export function isTerminalProfileError(e: unknown, code?: TerminalProfileErrorCode): e is TerminalProfileError {
  return e instanceof TerminalProfileError && (code === undefined || e.code === code);
}

function invalid(file: string, message: string, cause?: unknown): TerminalProfileError {
  return new TerminalProfileError('profile-invalid', `${file}: ${message}`, { file }, { cause });
}

function parseProfileJson(text: string): TerminalProfileJson {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw invalid(PROFILE_FILES.profile, 'not valid JSON', e);
  }
  const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
  for (const field of ['name', 'terminalId', 'gatewayUrl', 'mail'] as const) {
    if (typeof o[field] !== 'string' || o[field] === '') throw invalid(PROFILE_FILES.profile, `"${field}" is missing`);
  }
  const p = o as unknown as TerminalProfileJson;
  if (!/^[0-9a-f]{16}$/.test(p.terminalId)) throw invalid(PROFILE_FILES.profile, '"terminalId" is not 16 hex characters');
  if (!URL.canParse(p.gatewayUrl) || new URL(p.gatewayUrl).protocol !== 'https:') {
    throw invalid(PROFILE_FILES.profile, '"gatewayUrl" is not an https URL');
  }
  return { name: p.name, terminalId: p.terminalId, gatewayUrl: p.gatewayUrl, mail: p.mail };
}

async function checkFiles(dir: string): Promise<void> {
  try {
    if (!(await stat(dir)).isDirectory()) throw invalid(dir, 'not a directory');
  } catch (e) {
    if (isErrno(e, 'ENOENT')) throw new TerminalProfileError('profile-missing', `No terminal profile at ${dir}`, { dir });
    throw e;
  }
  const missing: string[] = [];
  for (const file of Object.values(PROFILE_FILES)) {
    try {
      await stat(join(dir, file));
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) throw e;
      missing.push(file);
    }
  }
  if (missing.length > 0) {
    throw new TerminalProfileError('profile-incomplete', `The terminal profile at ${dir} lacks ${missing.join(', ')}`, { dir, missing });
  }
  await checkPrivate(join(dir, PROFILE_FILES.key));
}

async function checkPrivate(path: string): Promise<void> {
  const mode = (await stat(path)).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new TerminalProfileError(
      'key-permissions',
      `${path} is readable by others (mode ${mode.toString(8).padStart(4, '0')}); refusing to use it: chmod 600 it`,
      { path, mode },
    );
  }
}

function parseBroker(text: string, terminalId: string): BrokerLogin {
  const file = OPTIONAL_PROFILE_FILES.broker;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw invalid(file, 'not valid JSON'); // no cause: V8's message quotes the text, i.e. the password
  }
  const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
  if (typeof o.username !== 'string' || typeof o.password !== 'string' || o.password === '') throw invalid(file, '"username" or "password" is missing');
  if (o.username !== terminalId) throw invalid(file, `"username" is not this terminal's id`);
  return { username: o.username, password: o.password };
}

function parseKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (e) {
    throw invalid(PROFILE_FILES.key, 'not a PEM private key', e);
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw invalid(PROFILE_FILES.key, 'not an EC P-256 key');
  }
  return key;
}

function parseCertificate(file: string, pem: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (e) {
    throw invalid(file, 'not a PEM certificate', e);
  }
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** terminal.pem: the leaf first, then any CAs up to (not including) the household root. */
function certificateChain(pem: string): X509Certificate[] {
  const blocks = pem.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) throw invalid(PROFILE_FILES.certificate, 'not a PEM certificate');
  return blocks.map((b) => parseCertificate(PROFILE_FILES.certificate, b));
}

/** Load and check the profile in `dir`; rejects with TerminalProfileError. */
export async function loadTerminalProfile(dir: string): Promise<TerminalProfile> {
  await checkFiles(dir);
  const read = (file: string) => readFile(join(dir, file), 'utf8');
  const [profileText, keyPem, certificatePem, householdCaPem] = await Promise.all([
    read(PROFILE_FILES.profile),
    read(PROFILE_FILES.key),
    read(PROFILE_FILES.certificate),
    read(PROFILE_FILES.householdCa),
  ]);
  const profile = parseProfileJson(profileText);
  const key = parseKey(keyPem);
  const chain = certificateChain(certificatePem);
  const certificate = chain[0]!;
  const householdCa = parseCertificate(PROFILE_FILES.householdCa, householdCaPem);
  if (!certificate.checkPrivateKey(key)) throw invalid(PROFILE_FILES.key, `does not belong to ${PROFILE_FILES.certificate}`);
  // Each certificate issued by the next, the last by the household root (RFC 5280 §6.1, without the policy parts).
  const issuers = [...chain.slice(1), householdCa];
  chain.forEach((c, i) => {
    const issuer = issuers[i]!;
    if (!c.checkIssued(issuer) || !c.verify(issuer.publicKey)) throw invalid(PROFILE_FILES.certificate, `not issued by ${PROFILE_FILES.householdCa}`);
  });
  const result: TerminalProfile = { ...profile, key, keyPem, certificatePem, householdCaPem };
  const cardPem = await readFileIfExists(join(dir, OPTIONAL_PROFILE_FILES.cardCertificate));
  if (cardPem !== undefined) {
    parseCertificate(OPTIONAL_PROFILE_FILES.cardCertificate, cardPem);
    result.cardCertificatePem = cardPem;
  }
  const brokerPath = join(dir, OPTIONAL_PROFILE_FILES.broker);
  const brokerText = await readFileIfExists(brokerPath);
  if (brokerText !== undefined) {
    await checkPrivate(brokerPath);
    result.broker = parseBroker(brokerText, profile.terminalId);
  }
  return result;
}
