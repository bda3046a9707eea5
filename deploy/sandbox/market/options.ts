/**
 * Options of the sandbox market, documented where they are declared, and
 * checked once at start-up (every problem reported at once).
 *
 * The sandbox uses nothing of the gateway (of card-io only the home card's
 * record and authorization encodings): the logger shape is declared here, and
 * pino's Logger (or any object with these methods) fits.
 */
import { createPrivateKey, KeyObject, X509Certificate } from 'node:crypto';
import { derToPem } from '../../../provisioning/pki/index.js';
import { SANDBOX_CATALOGUE, type Catalogue } from './catalogue.js';
import { CodedError } from '../../../card-io/base/coded-error.js';

/** The log calls the market makes: structured fields first, then a message. */
export interface MarketLogger {
  debug(fields: Record<string, unknown>, msg?: string): void;
  info(fields: Record<string, unknown>, msg?: string): void;
  warn(fields: Record<string, unknown>, msg?: string): void;
}

/** A certificate as DER bytes or as PEM text. */
export type CertificateInput = Uint8Array | string;

export interface SandboxMarketOptions {
  /** Address to listen on. Default `127.0.0.1`. */
  host?: string;
  /** TCP port; 0 picks a free one (the chosen port is returned). Range 0..65535. */
  port: number;
  /** The market's server certificate (DER or PEM); it may be followed by its chain in PEM. */
  serverCert: CertificateInput;
  /** The server certificate's private key: a Node KeyObject or PKCS#8/SEC1 PEM. */
  serverKey: KeyObject | string;
  /**
   * The issuer CA(s) the market trusts for client certificates (DER or PEM).
   * A client chain `leaf → card CA → issuer` is accepted when it ends in one of them.
   */
  clientCa: CertificateInput | readonly CertificateInput[];
  /** Where request and handshake-failure lines go. Default: nowhere. */
  logger?: MarketLogger;
  /**
   * Session ticket keys, 48 bytes (Node `tls` `ticketKeys`). Default: Node's
   * random per-server keys, so tickets die with the process.
   */
  ticketKeys?: Buffer;
  /**
   * Issue resumable session tickets (RFC 8446 §4.6.1). Default true. False
   * models a market without resumption: a client still receives tickets (Node
   * cannot turn NewSessionTicket off) but every resumption attempt falls back
   * to a full handshake, which fails without the client certificate.
   */
  resumption?: boolean;
  /**
   * Ticket / session lifetime in seconds (Node `sessionTimeout`; it is also the
   * ticket_lifetime the client sees). Default 300, range 1..604800 (RFC 8446
   * §4.6.1: at most 7 days).
   */
  sessionTimeoutSeconds?: number;
  /** What `GET /catalog` serves and `POST /orders` sells from. Default `SANDBOX_CATALOGUE`. */
  catalogue?: Catalogue;
  /**
   * The market's signing key and certificate for cancel authorizations
   * (PAYMENTS.md; PROTOCOL.md, CANCEL): the certificate is issued by the
   * market CA (a trust anchor on the card), not a CA, keyUsage
   * digitalSignature, and names `serverName` as a dNSName. Required for the
   * payment API: without it `/payment-api/*` answers 404.
   */
  signer?: { certificate: CertificateInput; privateKey: KeyObject | string };
  /**
   * The market's name in decision records (DF51): the card records the first
   * dNSName of the server leaf it verified. Default: that dNSName of `serverCert`.
   */
  serverName?: string;
}

/** The options after validation, in the forms `tls` wants. */
export interface ResolvedMarketOptions {
  host: string;
  port: number;
  certPem: string;
  keyPem: string;
  caPems: string[];
  logger: MarketLogger | undefined;
  ticketKeys: Buffer | undefined;
  resumption: boolean;
  sessionTimeoutSeconds: number;
  catalogue: Catalogue;
  signer: { certificate: Buffer; privateKey: KeyObject } | undefined;
  serverName: string;
  /** The client CAs parsed: the issuer CAs card certificates must chain to. */
  issuerCas: X509Certificate[];
}

export class SandboxMarketOptionsError extends CodedError<'invalid-options'> {
  override readonly name = 'SandboxMarketOptionsError';
  readonly family = 'sandbox';
  constructor(readonly problems: readonly string[]) {
    super('invalid-options', `Invalid sandbox market options: ${problems.join('; ')}`, { problems });
  }
}

const MAX_TICKET_LIFETIME_S = 7 * 24 * 3600;

export function toPem(input: CertificateInput): string {
  return typeof input === 'string' ? input : derToPem(input);
}

function looksLikeCertificate(input: CertificateInput): boolean {
  if (typeof input === 'string') return input.includes('-----BEGIN CERTIFICATE-----');
  return input.length > 0 && input[0] === 0x30; // DER SEQUENCE
}

function privateKey(key: KeyObject | string, what: string, problems: string[]): KeyObject | undefined {
  try {
    const obj = key instanceof KeyObject ? key : createPrivateKey(key);
    if (obj.type !== 'private') throw new Error('not a private key');
    return obj;
  } catch (e) {
    problems.push(`${what}: ${(e as Error).message}`);
    return undefined;
  }
}

function parseCertificate(input: CertificateInput, what: string, problems: string[]): X509Certificate | undefined {
  try {
    return new X509Certificate(typeof input === 'string' ? input : Buffer.from(input));
  } catch {
    problems.push(`${what} must be a DER or PEM certificate`);
    return undefined;
  }
}

/** The dNSName SANs, in order (Node's `subjectAltName` is `DNS:a, IP Address:b, ...`). */
export function dnsNamesOf(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(', ')
    .filter((n) => n.startsWith('DNS:'))
    .map((n) => n.slice(4));
}

function resolveSigner(o: SandboxMarketOptions, serverName: string, problems: string[]): ResolvedMarketOptions['signer'] {
  if (o.signer === undefined) return undefined;
  const cert = parseCertificate(o.signer.certificate, 'signer.certificate', problems);
  const key = privateKey(o.signer.privateKey, 'signer.privateKey', problems);
  if (cert === undefined || key === undefined) return undefined;
  if (!cert.checkPrivateKey(key)) problems.push('signer.privateKey does not belong to signer.certificate');
  if (cert.ca) problems.push('signer.certificate must not be a CA');
  if (!dnsNamesOf(cert).some((n) => n.toLowerCase() === serverName.toLowerCase())) {
    problems.push(`signer.certificate must name the market ${serverName} as a dNSName`);
  }
  return { certificate: Buffer.from(cert.raw), privateKey: key };
}

export function resolveMarketOptions(o: SandboxMarketOptions): ResolvedMarketOptions {
  const problems: string[] = [];
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) problems.push(`port must be 0..65535 (got ${o.port})`);
  if (!looksLikeCertificate(o.serverCert)) problems.push('serverCert must be a DER or PEM certificate');
  const cas: readonly CertificateInput[] = Array.isArray(o.clientCa) ? o.clientCa : [o.clientCa as CertificateInput];
  if (cas.length === 0 || !cas.every(looksLikeCertificate)) problems.push('clientCa must be one or more DER or PEM certificates');
  if (o.ticketKeys !== undefined && o.ticketKeys.length !== 48) problems.push('ticketKeys must be 48 bytes');
  const timeout = o.sessionTimeoutSeconds ?? 300;
  if (!Number.isInteger(timeout) || timeout < 1 || timeout > MAX_TICKET_LIFETIME_S) {
    problems.push(`sessionTimeoutSeconds must be 1..${MAX_TICKET_LIFETIME_S} (got ${timeout})`);
  }
  const key = privateKey(o.serverKey, 'serverKey', problems);
  const server = looksLikeCertificate(o.serverCert) ? parseCertificate(o.serverCert, 'serverCert', problems) : undefined;
  const serverName = o.serverName ?? (server ? dnsNamesOf(server)[0] : undefined);
  if (server !== undefined && serverName === undefined) problems.push('serverName: serverCert has no dNSName');
  const signer = resolveSigner(o, serverName ?? '', problems);
  const issuerCas = problems.length === 0 ? cas.flatMap((c) => parseCertificate(c, 'clientCa', problems) ?? []) : [];
  if (problems.length > 0) throw new SandboxMarketOptionsError(problems);
  return {
    host: o.host ?? '127.0.0.1',
    port: o.port,
    certPem: toPem(o.serverCert),
    keyPem: key!.export({ type: 'pkcs8', format: 'pem' }).toString(),
    caPems: cas.map(toPem),
    logger: o.logger,
    ticketKeys: o.ticketKeys,
    resumption: o.resumption ?? true,
    sessionTimeoutSeconds: timeout,
    catalogue: o.catalogue ?? SANDBOX_CATALOGUE,
    signer,
    serverName: serverName!,
    issuerCas,
  };
}
