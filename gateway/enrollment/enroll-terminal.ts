/**
 * Enroll a terminal (claims 8, 9: the gateway proxies only for registered
 * terminals): a fresh P-256 key pair, a clientAuth certificate from the
 * household CA, an entry in the registry (certificate fingerprint, mail), and
 * the terminal profile directory the access card loads (API.md).
 *
 * Order, so that a failure or crash never leaves a usable half: the profile
 * directory is claimed first (refusing an existing one), key and
 * certificates are written, the terminal is registered (which gives its id),
 * and profile.json is written last. A failure before registration removes the
 * directory; one after it also revokes the new registry entry.
 *
 * The key is generated here, by the enrolling machine, and handed over in the
 * profile; it is never stored anywhere else.
 *
 * Mail (optional parameters): with `cardCertificate` the profile pins the
 * home card's certificate (card.pem), the only signer whose mail the terminal
 * believes; with `brokerUsersFile` the terminal gets its own MQTT broker user
 * (user name = its id, a random password in broker.json, 0600) and the
 * gateway keeps only the password's hash in that Mosquitto-format file.
 */
import type { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { OPTIONAL_PROFILE_FILES, PROFILE_FILES, type TerminalProfileJson } from '../../card-io/access-card/terminal-profile.js';
import type { Logger } from '../../card-io/base/log.js';
import { generateBrokerPassword, setBrokerUser, type BrokerCredentials } from '../notify/broker-users.js';
import { checkMail, checkTerminalName, type Registry, type TerminalRecord } from '../registry/index.js';
import { EnrollmentError } from '../../provisioning/enrollment-error.js';
import { createClientCertificate, derToPem, generateP256KeyPair, sha256Fingerprint, type IssuingCa } from '../../provisioning/pki/index.js';
import { createProfileDir, KEY_FILE_MODE, PUBLIC_FILE_MODE, removeProfileDir, writeNewFile } from './profile-dir.js';
import { fsyncDirectory } from '../../card-io/base/durable/atomic-file.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Terminal certificates live two years; re-enrolling replaces one. */
export const TERMINAL_CERTIFICATE_DAYS = 730;
/** Backdated like the PKI's default, for verifiers whose clock is a little behind. */
const BACKDATE_MS = 5 * 60 * 1000;

export interface EnrollTerminalParams {
  registry: Registry;
  /** The household CA (ca-store.ts loadOrCreateCa): it issues the client certificate. */
  householdCa: IssuingCa;
  /** Terminal name: CN of the certificate and the profile directory's name. */
  name: string;
  /** Where the gateway reports this terminal's payment decisions. */
  mail: string;
  /** https URL of the gateway's terminal API, written into profile.json. */
  gatewayUrl: string;
  /** `<data>/terminals`: the profile goes to `<terminalsDir>/<name>/`. */
  terminalsDir: string;
  logger: Logger;
  /** Milliseconds since the epoch (certificate validity). Default Date.now. */
  clock?: () => number;
  /** The home card's certificate (DER), pinned in the profile as card.pem. */
  cardCertificate?: Uint8Array;
  /** The broker's password file (broker-users.ts): the terminal's broker user is added to it. */
  brokerUsersFile?: string;
}

export interface EnrolledTerminal {
  terminal: TerminalRecord;
  profileDir: string;
  /** The client certificate, DER. */
  certificate: Buffer;
  /** The terminal's broker login (also in its broker.json), when `brokerUsersFile` was given; never log it. */
  broker?: BrokerCredentials;
}

function checkGatewayUrl(url: string): string {
  if (!URL.canParse(url) || new URL(url).protocol !== 'https:') {
    throw new EnrollmentError('invalid', 'The gateway URL must be https', { url });
  }
  return url;
}

async function issueTerminalCertificate(name: string, publicKey: KeyObject, ca: IssuingCa, now: number): Promise<Buffer> {
  const notBefore = new Date(now - BACKDATE_MS);
  return createClientCertificate({
    subject: `CN=${name}`, // the name pattern admits no RFC 4514 special characters
    subjectPublicKey: publicKey,
    issuer: ca,
    notBefore,
    notAfter: new Date(notBefore.getTime() + TERMINAL_CERTIFICATE_DAYS * DAY_MS),
  });
}

export async function enrollTerminal(p: EnrollTerminalParams): Promise<EnrolledTerminal> {
  const name = checkTerminalName(p.name);
  const mail = checkMail(p.mail);
  const gatewayUrl = checkGatewayUrl(p.gatewayUrl);
  const profileDir = join(p.terminalsDir, name);
  const logger = p.logger.child({ channel: 'enroll' });

  await createProfileDir(profileDir);
  let terminal: TerminalRecord;
  let certificate: Buffer;
  try {
    const { privateKey, publicKey } = generateP256KeyPair();
    certificate = await issueTerminalCertificate(name, publicKey, p.householdCa, (p.clock ?? Date.now)());
    const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await writeNewFile(profileDir, PROFILE_FILES.key, keyPem, KEY_FILE_MODE);
    await writeNewFile(profileDir, PROFILE_FILES.certificate, derToPem(certificate), PUBLIC_FILE_MODE);
    await writeNewFile(profileDir, PROFILE_FILES.householdCa, derToPem(p.householdCa.certificate), PUBLIC_FILE_MODE);
    if (p.cardCertificate) await writeNewFile(profileDir, OPTIONAL_PROFILE_FILES.cardCertificate, derToPem(Buffer.from(p.cardCertificate)), PUBLIC_FILE_MODE);
    const certFingerprint = sha256Fingerprint(certificate).toString('hex');
    terminal = await p.registry.addTerminal({ name, mail, certFingerprint });
  } catch (e) {
    await removeProfileDir(profileDir);
    throw e;
  }

  let broker: BrokerCredentials | undefined;
  try {
    if (p.brokerUsersFile !== undefined) {
      broker = { username: terminal.id, password: generateBrokerPassword() };
      await writeNewFile(profileDir, OPTIONAL_PROFILE_FILES.broker, `${JSON.stringify(broker)}\n`, KEY_FILE_MODE);
      await setBrokerUser(p.brokerUsersFile, broker);
    }
    const profile: TerminalProfileJson = { name, terminalId: terminal.id, gatewayUrl, mail };
    await writeNewFile(profileDir, PROFILE_FILES.profile, `${JSON.stringify(profile, null, 2)}\n`, PUBLIC_FILE_MODE);
    await fsyncDirectory(profileDir);
  } catch (e) {
    await p.registry.revokeTerminal(terminal.id).catch((re: unknown) => {
      logger.error({ terminalId: terminal.id, err: String(re) }, 'Enrollment failed and the new terminal could not be revoked; revoke it by hand');
    });
    await removeProfileDir(profileDir);
    throw e;
  }

  logger.info({ terminalId: terminal.id, name, profileDir }, 'Terminal enrolled');
  return { terminal, profileDir, certificate, ...(broker ? { broker } : {}) };
}
