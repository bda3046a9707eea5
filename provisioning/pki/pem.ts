/**
 * PEM (RFC 7468) and DER conversions and certificate fingerprints.
 *
 * DER is the form everything in homegate passes around (the card speaks DER);
 * PEM is for files and for Node's `tls` options. The fingerprint is SHA-256 of
 * the DER, the same value the card uses for trust anchors (GET DATA DF06,
 * PUT DATA DF21) and returns from VERIFY CERTIFICATE.
 */
import { createHash } from 'node:crypto';
import { CardError, CardErrorCode } from '../../card-io/errors.js';

/** Encode DER as PEM with 64-character lines (RFC 7468 §2). */
export function derToPem(der: Uint8Array, label = 'CERTIFICATE'): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** All PEM blocks of one label in a text, decoded, in order (e.g. a chain file). */
export function pemToDerAll(pem: string, label = 'CERTIFICATE'): Buffer[] {
  const re = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]*?)-----END ${label}-----`, 'g');
  return [...pem.matchAll(re)].map((m) => Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
}

/** The first PEM block of the label; throws if there is none. */
export function pemToDer(pem: string, label = 'CERTIFICATE'): Buffer {
  const first = pemToDerAll(pem, label)[0];
  if (first === undefined || first.length === 0) {
    throw new CardError(CardErrorCode.InvalidArgument, `No PEM block labelled ${label}`);
  }
  return first;
}

/** SHA-256 over the DER bytes (32 bytes). */
export function sha256Fingerprint(der: Uint8Array): Buffer {
  return createHash('sha256').update(der).digest();
}

/** The fingerprint as colon-separated upper-case hex, as `openssl x509 -fingerprint` prints it. */
export function formatFingerprint(fingerprint: Uint8Array): string {
  return Buffer.from(fingerprint).toString('hex').toUpperCase().match(/../g)!.join(':');
}
