/**
 * What the market checks before it accepts a payment (PAYMENTS.md,
 * `POST /payment-api/payments`):
 *
 * 1. the card certificate is issued by one of the market's issuer CAs, is
 *    valid now, and is a CA with pathLenConstraint 0 (the profile the issuer
 *    gives a card at personalization, `certifyCardKey`; RFC 5280 §4.2.1.9)
 *    → else 401 `card-untrusted`;
 * 2. the record's signature verifies with that certificate's key (DER ECDSA
 *    P-256 over SHA-256 of the value of E1, PROTOCOL.md "Records")
 *    → else 401 `record-signature-invalid`;
 * 3. the record names this market (its server name, the first dNSName of the
 *    leaf the card verified) and says "paid" → else 422 `record-mismatch`.
 *
 * The order checks (amount, currency, status) are the caller's.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { parseSignedCancelRequest, verifySignedCancelRequest, type SignedCancelRequest } from '../../../card-io/home-card/cancel-request.js';
import { parseSignedRecord, verifySignedRecord, type SignedRecord } from '../../../card-io/home-card/decision-record.js';
import { x509 } from '../../../provisioning/pki/x509-provider.js';
import { HttpError } from '../http-json.js';

function untrusted(reason: string): HttpError {
  return new HttpError(401, 'card-untrusted', `The card certificate ${reason}`);
}

function parse(der: Buffer): X509Certificate {
  try {
    return new X509Certificate(der);
  } catch {
    throw untrusted('is not a DER X.509 certificate');
  }
}

function pathLength(der: Buffer): number | undefined {
  try {
    return new x509.X509Certificate(der).getExtension(x509.BasicConstraintsExtension)?.pathLength;
  } catch {
    return undefined;
  }
}

function validAt(cert: X509Certificate, now: Date): boolean {
  return Date.parse(cert.validFrom) <= now.getTime() && now.getTime() <= Date.parse(cert.validTo);
}

/** The card's public key, once its certificate is trusted; throws HttpError 401 `card-untrusted`. */
export function trustedCardKey(cardCertificate: Buffer, issuerCas: readonly X509Certificate[], now: Date): KeyObject {
  const cert = parse(cardCertificate);
  const issuer = issuerCas.find((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey));
  if (issuer === undefined) throw untrusted('is not issued by an issuer CA this market trusts');
  if (!issuer.ca || !validAt(issuer, now)) throw untrusted('is issued by a CA that is not valid now');
  if (!validAt(cert, now)) throw untrusted('is not valid now');
  if (!cert.ca || pathLength(cardCertificate) !== 0) throw untrusted('is not a CA with pathLength 0');
  return cert.publicKey;
}

/** The signed record, parsed and verified with the card key; throws HttpError 400 / 401. */
export function verifiedRecord(signedRecord: Buffer, cardKey: KeyObject): SignedRecord {
  let record: SignedRecord;
  try {
    record = parseSignedRecord(signedRecord);
  } catch {
    throw new HttpError(400, 'bad-request', 'signedRecord is not E1 { record } ‖ DF5E { signature }');
  }
  if (!verifySignedRecord(record, cardKey)) {
    throw new HttpError(401, 'record-signature-invalid', 'The record signature does not verify with the card certificate key');
  }
  return record;
}

/** The record is a payment to this market; throws HttpError 422 `record-mismatch`. */
export function checkRecordForMarket(record: SignedRecord, serverName: string): void {
  // dNSNames compare ASCII case-insensitively (RFC 4343), as the card compares them.
  if (record.market.toLowerCase() !== serverName.toLowerCase()) {
    throw new HttpError(422, 'record-mismatch', `The record names market ${record.market}, not ${serverName}`);
  }
  if (record.status !== 'paid') throw new HttpError(422, 'record-mismatch', 'The record is not a payment (status cancelled)');
}

/**
 * The card's signed cancel request (PROTOCOL.md, SIGN CANCEL REQUEST),
 * parsed and verified with the card key; throws HttpError 400 / 401
 * `request-signature-invalid`.
 */
export function verifiedCancelRequest(bytes: Buffer, cardKey: KeyObject): SignedCancelRequest {
  let request: SignedCancelRequest;
  try {
    request = parseSignedCancelRequest(bytes);
  } catch {
    throw new HttpError(400, 'bad-request', 'cancelRequest is not E3 { request } ‖ DF5E { signature }');
  }
  if (!verifySignedCancelRequest(request, cardKey)) {
    throw new HttpError(401, 'request-signature-invalid', 'The cancel request signature does not verify with the card certificate key');
  }
  return request;
}
