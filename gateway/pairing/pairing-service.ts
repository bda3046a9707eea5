/**
 * Pairing, the gateway's side (docs/PROVISIONING.md): `homegate terminals
 * pair` asks for a code on the admin socket (`createCode`); the terminal then
 * redeems it on the terminal API's public route POST /v1/pairing (`pair`)
 * with its CSR and the code's proof. The gateway checks the proof, certifies
 * the CSR's key under the terminal name the code was made for (never the
 * name the CSR asks for), registers the terminal and creates its broker user.
 *
 * What the gateway keeps of a paired terminal: the registry entry (its
 * certificate's fingerprint, name, mail) and the broker password's hash. The
 * terminal's private key never reaches the gateway; the broker password is
 * handed over once inside the pinned TLS channel.
 */
import { X509Certificate } from 'node:crypto';
import type { Logger } from '../../card-io/base/log.js';
import { derToPem, sha256Fingerprint } from '../../provisioning/pki/pem.js';
import type { TerminalIssuer } from '../../provisioning/terminal-issuer.js';
import { type BrokerCredentials, generateBrokerPassword, setBrokerUser } from '../notify/broker-users.js';
import { checkMail, checkTerminalName, type Registry, RegistryError } from '../registry/index.js';
import { encodePairingCode, newPairingCode } from './pairing-code.js';
import { PairingError } from './pairing-error.js';
import type { PendingCodes } from './pending-codes.js';

export interface PairingServiceOptions {
  registry: Registry;
  codes: PendingCodes;
  /** The terminal issuer of this gateway (terminal-issuer.ts loadTerminalIssuer). */
  issuer(): Promise<TerminalIssuer>;
  /** The home card's certificate (DER), pinned by the terminal for its mail; undefined while the card is absent. */
  cardCertificate(): Uint8Array | undefined;
  /** The broker's password file; without it no broker user is made. */
  brokerUsersFile?: string;
  /** Where the terminal reads its mail (the gateway's MQTT URL and topic prefix). */
  mailbox?: { url: string; topicPrefix: string };
  /** After a terminal is registered (e.g. open its mail session). Failures are the callee's to log. */
  paired?(terminalId: string, broker: BrokerCredentials | undefined): Promise<void>;
  logger: Logger;
  clock?: () => number;
}

/** POST /v1/pairing's body (API.md, pairing). */
export interface PairingRequest {
  /** The code's id, base64url. */
  code: string;
  /** HMAC proof (pairing-code.ts), base64url. */
  proof: string;
  /** PKCS#10 DER, base64. */
  csr: string;
}

export interface PairingAnswer {
  terminalId: string;
  name: string;
  mail: string;
  /** The terminal's certificate then its chain, PEM. */
  certificatePem: string;
  householdCaPem: string;
  cardCertificatePem?: string;
  broker?: BrokerCredentials;
  mailbox?: { url: string; topicPrefix: string };
}

function field(body: unknown, name: keyof PairingRequest): Buffer {
  const v = (body as Record<string, unknown> | undefined)?.[name];
  if (typeof v !== 'string' || v.length === 0 || v.length > 8192) throw new PairingError('pairing-refused', `Field "${name}" is missing or too long`);
  return Buffer.from(v, name === 'csr' ? 'base64' : 'base64url');
}

export class PairingService {
  constructor(private readonly o: PairingServiceOptions) {}

  /** A new single-use code for `name`/`mail`; the text is what `homegate terminals pair` prints. */
  async createCode(name: string, mail: string, gatewayUrl?: string): Promise<{ code: string; expiresAt: number; fingerprint: string }> {
    const checkedName = checkTerminalName(name);
    const checkedMail = checkMail(mail);
    // Refused now rather than at redemption, where it would burn the code after the person typed it.
    if (this.o.registry.listTerminals().some((t) => t.name === checkedName && t.status === 'active')) {
      throw new RegistryError('duplicate', `An active terminal is already named ${checkedName}; revoke it first or choose another name`, { name: checkedName });
    }
    const root = (await this.o.issuer()).root;
    const code = newPairingCode(sha256Fingerprint(root), gatewayUrl);
    const pending = this.o.codes.add(code, checkedName, checkedMail);
    this.o.logger.info({ name: checkedName, expiresAt: new Date(pending.expiresAt).toISOString() }, 'pairing code made');
    return { code: encodePairingCode(code), expiresAt: pending.expiresAt, fingerprint: code.caFingerprint.toString('hex') };
  }

  async pair(body: unknown): Promise<PairingAnswer> {
    const id = field(body, 'code');
    const proof = field(body, 'proof');
    const csr = field(body, 'csr');
    const pending = this.o.codes.take(id, proof, csr);
    let registered: string | undefined;
    try {
      const issuer = await this.o.issuer();
      // Imported here, not with this file: the X.509 issuing code is needed at a pairing only (the gateway starts without it).
      const { issueTerminalCertificate, publicKeyFromCsr } = await import('../../provisioning/terminal-issuer.js');
      const publicKey = await publicKeyFromCsr(csr);
      const issued = await issueTerminalCertificate({ issuer, name: pending.name, publicKey, now: (this.o.clock ?? Date.now)() });
      const t = await this.o.registry.addTerminal({
        name: pending.name,
        mail: pending.mail,
        certFingerprint: sha256Fingerprint(issued.certificate).toString('hex'),
      });
      registered = t.id;
      let broker: BrokerCredentials | undefined;
      if (this.o.brokerUsersFile !== undefined) {
        broker = { username: t.id, password: generateBrokerPassword() };
        await setBrokerUser(this.o.brokerUsersFile, broker);
      }
      await this.o.paired?.(t.id, broker);
      const card = this.o.cardCertificate();
      this.o.logger.info({ terminalId: t.id, name: t.name, subject: new X509Certificate(issued.certificate).subject }, 'terminal paired');
      return {
        terminalId: t.id,
        name: t.name,
        mail: t.mail,
        certificatePem: issued.chainPem,
        householdCaPem: issued.rootPem,
        ...(card ? { cardCertificatePem: derToPem(card) } : {}),
        ...(broker ? { broker } : {}),
        ...(this.o.mailbox ? { mailbox: this.o.mailbox } : {}),
      };
    } catch (e) {
      // Undo a half pairing; the code stays good for another try when the terminal was not at fault.
      if (registered !== undefined) await this.o.registry.revokeTerminal(registered).catch(() => undefined);
      if (!(e instanceof PairingError) && !isTerminalFault(e)) this.o.codes.restore(pending);
      throw e;
    }
  }
}

/** A CSR that does not verify, or a name already taken: asking again with the same code would fail the same way. */
function isTerminalFault(e: unknown): boolean {
  const family = (e as { family?: string } | undefined)?.family;
  return family === 'enrollment' || family === 'registry';
}
