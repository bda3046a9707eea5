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
 * The key is generated here, by the enrolling machine, written only into the
 * profile, and certified from a CSR through the same issuance as pairing
 * (provisioning/terminal-issuer.ts). Pairing over the LAN (gateway/pairing/)
 * is how a real terminal is enrolled: its key never leaves it.
 *
 * Mail (optional parameters): with `cardCertificate` the profile pins the
 * home card's certificate (card.pem), the only signer whose mail the terminal
 * believes; with `brokerUsersFile` the terminal gets its own MQTT broker user
 * (user name = its id, a random password in broker.json, 0600) and the
 * gateway keeps only the password's hash in that Mosquitto-format file.
 */
import { join } from 'node:path';
import { OPTIONAL_PROFILE_FILES, PROFILE_FILES, type TerminalProfileJson } from '../../card-io/access-card/terminal-profile.js';
import type { Logger } from '../../card-io/base/log.js';
import { generateBrokerPassword, setBrokerUser, type BrokerCredentials } from '../notify/broker-users.js';
import { checkMail, checkTerminalName, type Registry, type TerminalRecord } from '../registry/index.js';
import { EnrollmentError } from '../../provisioning/enrollment-error.js';
import { derToPem, generateP256KeyPair, sha256Fingerprint, type IssuingCa } from '../../provisioning/pki/index.js';
import { createTerminalCsr, issueTerminalCertificate, publicKeyFromCsr, type TerminalIssuer } from '../../provisioning/terminal-issuer.js';
import { createProfileDir, KEY_FILE_MODE, PUBLIC_FILE_MODE, removeProfileDir, writeNewFile } from './profile-dir.js';
import { fsyncDirectory } from '../../card-io/base/durable/atomic-file.js';

/** Kept here for callers that read it from enrollment; the value lives with the issuer. */
export { TERMINAL_CERTIFICATE_DAYS } from '../../provisioning/terminal-issuer.js';

export interface EnrollTerminalParams {
  registry: Registry;
  /**
   * Who issues the client certificate: a TerminalIssuer (terminal-issuer.ts
   * loadTerminalIssuer: the enrollment intermediate of a provisioned
   * household), or a bare household root CA (ca-store.ts loadOrCreateCa).
   */
  householdCa: IssuingCa | TerminalIssuer;
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

function asIssuer(ca: IssuingCa | TerminalIssuer): TerminalIssuer {
  return 'ca' in ca ? ca : { ca, chain: [], root: Buffer.from(ca.certificate) };
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
    // As a paired terminal does: the key is written to the profile only, and the issuer sees a CSR (terminal-issuer.ts).
    const keyPair = generateP256KeyPair();
    await writeNewFile(profileDir, PROFILE_FILES.key, keyPair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), KEY_FILE_MODE);
    const csr = await createTerminalCsr(name, keyPair);
    const issued = await issueTerminalCertificate({
      issuer: asIssuer(p.householdCa),
      name,
      publicKey: await publicKeyFromCsr(csr),
      now: (p.clock ?? Date.now)(),
    });
    certificate = issued.certificate;
    await writeNewFile(profileDir, PROFILE_FILES.certificate, issued.chainPem, PUBLIC_FILE_MODE);
    await writeNewFile(profileDir, PROFILE_FILES.householdCa, issued.rootPem, PUBLIC_FILE_MODE);
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
