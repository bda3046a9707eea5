/**
 * Options of the sandbox e-money issuer, documented where they are declared
 * and checked once at start-up (every problem reported at once).
 */
import { createPrivateKey, KeyObject } from 'node:crypto';
import { toPem, type CertificateInput, type MarketLogger } from '../market/options.js';
import { CodedError } from '../../../card-io/base/coded-error.js';

/** The log calls the issuer makes (the market's shape; pino's Logger fits). */
export type IssuerLogger = MarketLogger;

/** A household's funding account as the issuer starts with it. */
export interface IssuerAccountSetup {
  /** The household's name: the CN of its credential's subject. */
  household: string;
  /** The household's cards: card ids, 16 hex digits. */
  cards: readonly string[];
  /** Funds in minor units of `currency` (EUR: cents), a safe integer ≥ 0. */
  balance: number;
  currency: 'EUR';
}

export interface SandboxIssuerOptions {
  /** Address to listen on. Default `127.0.0.1`. */
  host?: string;
  /** TCP port; 0 picks a free one (the chosen port is returned). Range 0..65535. */
  port: number;
  /** The issuer's server certificate (DER or PEM), issued by the issuer CA. */
  serverCert: CertificateInput;
  /** Its private key: a Node KeyObject or PKCS#8/SEC1 PEM. */
  serverKey: KeyObject | string;
  /** The issuer CA(s) household credentials must chain to (DER or PEM). */
  clientCa: CertificateInput | readonly CertificateInput[];
  /**
   * The load-signing key (EC P-256). Its public half is on every card
   * (PROTOCOL.md, PUT DATA DF14); the card checks LOAD authorizations with it.
   */
  loadKey: KeyObject;
  /** The households the issuer knows, with their cards and funds. Household names are unique. */
  accounts: readonly IssuerAccountSetup[];
  /** Where request and refusal lines go. Default: nowhere. Never logs a key or a challenge. */
  logger?: IssuerLogger;
  /**
   * How long a load reservation holds the funds before it is released on its
   * own, in ms (a gateway that died between reserve and LOAD). Default 600000 (10 min).
   */
  reservationTtlMs?: number;
  /** The issuer's clock (reservation expiry). Default: the system clock. */
  clock?: () => Date;
}

export interface ResolvedIssuerOptions {
  host: string;
  port: number;
  certPem: string;
  keyPem: string;
  caPems: string[];
  loadKey: KeyObject;
  accounts: IssuerAccountSetup[];
  logger: IssuerLogger | undefined;
  reservationTtlMs: number;
  clock: () => Date;
}

export class SandboxIssuerOptionsError extends CodedError<'invalid-options'> {
  override readonly name = 'SandboxIssuerOptionsError';
  readonly family = 'sandbox';
  constructor(readonly problems: readonly string[]) {
    super('invalid-options', `Invalid sandbox issuer options: ${problems.join('; ')}`, { problems });
  }
}

function isCertificate(input: CertificateInput): boolean {
  if (typeof input === 'string') return input.includes('-----BEGIN CERTIFICATE-----');
  return input.length > 0 && input[0] === 0x30; // DER SEQUENCE
}

function accountProblems(accounts: readonly IssuerAccountSetup[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  accounts.forEach((a, i) => {
    const at = `accounts[${i}]`;
    if (typeof a.household !== 'string' || a.household.length === 0) problems.push(`${at}.household must be a non-empty string`);
    else if (seen.has(a.household)) problems.push(`${at}.household ${a.household} appears twice`);
    seen.add(a.household);
    if (!Array.isArray(a.cards) || !a.cards.every((c) => /^[0-9a-fA-F]{16}$/.test(c))) problems.push(`${at}.cards must be card ids of 16 hex digits`);
    if (!Number.isSafeInteger(a.balance) || a.balance < 0) problems.push(`${at}.balance must be a non-negative safe integer (minor units)`);
    if (a.currency !== 'EUR') problems.push(`${at}.currency must be EUR`);
  });
  return problems;
}

export function resolveIssuerOptions(o: SandboxIssuerOptions): ResolvedIssuerOptions {
  const problems: string[] = [];
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) problems.push(`port must be 0..65535 (got ${o.port})`);
  if (!isCertificate(o.serverCert)) problems.push('serverCert must be a DER or PEM certificate');
  const cas: readonly CertificateInput[] = Array.isArray(o.clientCa) ? o.clientCa : [o.clientCa as CertificateInput];
  if (cas.length === 0 || !cas.every(isCertificate)) problems.push('clientCa must be one or more DER or PEM certificates');
  let keyPem = '';
  try {
    const key = o.serverKey instanceof KeyObject ? o.serverKey : createPrivateKey(o.serverKey);
    if (key.type !== 'private') throw new Error('not a private key');
    keyPem = key.export({ type: 'pkcs8', format: 'pem' }).toString();
  } catch (e) {
    problems.push(`serverKey: ${(e as Error).message}`);
  }
  const loadKeyOk = o.loadKey instanceof KeyObject && o.loadKey.type === 'private' && o.loadKey.asymmetricKeyDetails?.namedCurve === 'prime256v1';
  if (!loadKeyOk) problems.push('loadKey must be an EC P-256 private KeyObject');
  if (o.reservationTtlMs !== undefined && (!Number.isSafeInteger(o.reservationTtlMs) || o.reservationTtlMs < 1)) {
    problems.push('reservationTtlMs must be a positive integer (ms)');
  }
  if (!Array.isArray(o.accounts)) problems.push('accounts must be an array');
  else problems.push(...accountProblems(o.accounts));
  if (problems.length > 0) throw new SandboxIssuerOptionsError(problems);
  return {
    host: o.host ?? '127.0.0.1',
    port: o.port,
    certPem: toPem(o.serverCert),
    keyPem,
    caPems: cas.map(toPem),
    loadKey: o.loadKey,
    accounts: o.accounts.map((a) => ({ ...a, cards: a.cards.map((c) => c.toLowerCase()) })),
    logger: o.logger,
    reservationTtlMs: o.reservationTtlMs ?? 600_000,
    clock: o.clock ?? (() => new Date()),
  };
}
