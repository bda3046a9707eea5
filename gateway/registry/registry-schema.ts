/**
 * The registry's records, the file's schema, and the checks on what goes in.
 * The schema is checked on every load (zod), so a hand-edited or damaged file
 * is reported as corrupt instead of failing later in a request.
 */
import { X509Certificate } from 'node:crypto';
import { z } from 'zod';
import { RegistryError } from './registry-error.js';

export type TerminalStatus = 'active' | 'revoked';
/** 'owner' may cancel any terminal's payment decisions; a 'member' only its own. */
export type TerminalRole = 'owner' | 'member';

export interface TerminalRecord {
  /** 16 lower-case hex characters (8 random bytes); the `kid`/`tid` of signed requests. */
  id: string;
  /** Display name; also the certificate CN and the profile directory name. */
  name: string;
  /** Where payment decisions are reported (claim 4). */
  mail: string;
  /** SHA-256 of the DER client certificate, 64 lower-case hex characters. */
  certFingerprint: string;
  status: TerminalStatus;
  /** Absent (a registry written before roles existed, or a new terminal): 'member'. */
  role?: TerminalRole;
  /** ISO 8601. */
  created: string;
  /** ISO 8601, or null when never seen; accurate to TOUCH_INTERVAL_MS in memory, TOUCH_PERSIST_MS on disk (see Registry.touchTerminal). */
  lastSeen: string | null;
}

export interface MarketRecord {
  /** Unique, [a-z0-9-]{1,32}: it appears in URLs and MQTT topics. */
  name: string;
  /** https URL, normalized by the WHATWG URL parser. */
  url: string;
  host: string;
  port: number;
  /** PEM of the market's CA: the chain of the market's server certificate must end here. */
  anchorPem: string;
  created: string;
}

export interface RegistryData {
  version: 1;
  terminals: TerminalRecord[];
  markets: MarketRecord[];
  settings: Record<string, unknown>;
}

export const TERMINAL_ID_PATTERN = /^[0-9a-f]{16}$/;
export const FINGERPRINT_PATTERN = /^[0-9a-f]{64}$/;
/** Safe as a file name and as an RFC 4514 CN without escaping. */
export const TERMINAL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const MARKET_NAME_PATTERN = /^[a-z0-9-]{1,32}$/;
const MAIL_PATTERN = /^[^\s@]{1,64}@[^\s@]{1,253}$/;

const terminalSchema = z.object({
  id: z.string().regex(TERMINAL_ID_PATTERN),
  name: z.string().regex(TERMINAL_NAME_PATTERN),
  mail: z.string().regex(MAIL_PATTERN),
  certFingerprint: z.string().regex(FINGERPRINT_PATTERN),
  status: z.enum(['active', 'revoked']),
  role: z.enum(['owner', 'member']).optional(),
  created: z.string(),
  lastSeen: z.string().nullable(),
});

const marketSchema = z.object({
  name: z.string().regex(MARKET_NAME_PATTERN),
  url: z.string(),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  anchorPem: z.string(),
  created: z.string(),
});

const registrySchema = z.object({
  version: z.literal(1),
  terminals: z.array(terminalSchema),
  markets: z.array(marketSchema),
  settings: z.record(z.string(), z.unknown()),
});

export function emptyRegistry(): RegistryData {
  return { version: 1, terminals: [], markets: [], settings: {} };
}

/** For FsyncJsonFile: throws (and the adapter reports 'corrupt') unless the value is a registry. */
export function parseRegistryData(value: unknown): RegistryData {
  return registrySchema.parse(value);
}

function invalid(message: string, context: Record<string, unknown>): RegistryError {
  return new RegistryError('invalid', message, context);
}

export function checkTerminalName(name: string): string {
  if (!TERMINAL_NAME_PATTERN.test(name)) throw invalid('Terminal name must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}', { name });
  return name;
}

export function checkMail(mail: string): string {
  if (!MAIL_PATTERN.test(mail)) throw invalid('Not a mail address', {});
  return mail;
}

/** Accepts lower or upper case, with or without colons (as openssl prints it); returns lower-case hex. */
export function normalizeFingerprint(fingerprint: string): string {
  const hex = fingerprint.replace(/:/g, '').toLowerCase();
  if (!FINGERPRINT_PATTERN.test(hex)) throw invalid('A certificate fingerprint is 32 bytes of hex (SHA-256)', {});
  return hex;
}

export function checkMarketName(name: string): string {
  if (!MARKET_NAME_PATTERN.test(name)) throw invalid('Market name must match [a-z0-9-]{1,32}', { name });
  return name;
}

/** https only: the gateway never talks to a market in clear text. */
export function parseMarketUrl(url: string): { url: string; host: string; port: number } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (e) {
    throw new RegistryError('invalid', 'Market URL does not parse', { url }, { cause: e });
  }
  if (parsed.protocol !== 'https:') throw invalid('Market URL must be https', { url });
  if (parsed.username !== '' || parsed.password !== '') throw invalid('Market URL must not carry credentials', {});
  // URL keeps IPv6 literals in brackets; tls.connect wants the bare address.
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  return { url: parsed.href, host, port: parsed.port === '' ? 443 : Number(parsed.port) };
}

/** One PEM certificate that Node's X.509 parser accepts; returned trimmed with a final newline. */
export function checkAnchorPem(anchorPem: string): string {
  try {
    new X509Certificate(anchorPem);
  } catch (e) {
    throw new RegistryError('invalid', 'Market anchor is not a PEM certificate', {}, { cause: e });
  }
  return `${anchorPem.trim()}\n`;
}
