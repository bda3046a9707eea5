/**
 * The one-time pairing code `homegate terminals pair` prints and shows as a
 * QR code (docs/PROVISIONING.md, pairing):
 *
 *   HG1.<base64url(id ‖ secret ‖ household root fingerprint)>[.<base64url(gateway URL)>]
 *
 * - id (8 random bytes) names the pending code on the gateway;
 * - secret (16 random bytes, 128 bits) never crosses the network: the
 *   terminal proves it knows it with an HMAC-SHA256 (RFC 2104) over the id and
 *   its CSR, so the proof also binds the code to that one request;
 * - the household root's SHA-256 fingerprint (32 bytes) is what the terminal
 *   pins the gateway by before it sends anything (pair-terminal.ts);
 * - the gateway URL is optional: without it the terminal finds the gateway
 *   by mDNS or is given --gateway.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { PairingError } from './pairing-error.js';

const PREFIX = 'HG1';
const ID_BYTES = 8;
const SECRET_BYTES = 16;
const FINGERPRINT_BYTES = 32;
/** Domain separation of the proof (so the HMAC means nothing anywhere else). */
const PROOF_LABEL = Buffer.from('homegate pairing proof v1\0');

export interface PairingCode {
  id: Buffer;
  secret: Buffer;
  /** SHA-256 of the household root certificate's DER. */
  caFingerprint: Buffer;
  gatewayUrl?: string;
}

export function newPairingCode(caFingerprint: Buffer, gatewayUrl?: string): PairingCode {
  return { id: randomBytes(ID_BYTES), secret: randomBytes(SECRET_BYTES), caFingerprint, ...(gatewayUrl ? { gatewayUrl } : {}) };
}

export function encodePairingCode(c: PairingCode): string {
  const core = Buffer.concat([c.id, c.secret, c.caFingerprint]).toString('base64url');
  return c.gatewayUrl ? `${PREFIX}.${core}.${Buffer.from(c.gatewayUrl).toString('base64url')}` : `${PREFIX}.${core}`;
}

export function decodePairingCode(text: string): PairingCode {
  const parts = text.trim().split('.');
  const bad = () => new PairingError('code-malformed', 'This is not a homegate pairing code (HG1.…); copy it again from "homegate terminals pair"');
  if (parts[0] !== PREFIX || parts.length < 2 || parts.length > 3) throw bad();
  const core = Buffer.from(parts[1]!, 'base64url');
  if (core.length !== ID_BYTES + SECRET_BYTES + FINGERPRINT_BYTES) throw bad();
  const code: PairingCode = {
    id: core.subarray(0, ID_BYTES),
    secret: core.subarray(ID_BYTES, ID_BYTES + SECRET_BYTES),
    caFingerprint: core.subarray(ID_BYTES + SECRET_BYTES),
  };
  if (parts[2] !== undefined) {
    const url = Buffer.from(parts[2], 'base64url').toString('utf8');
    if (!URL.canParse(url) || new URL(url).protocol !== 'https:') throw bad();
    code.gatewayUrl = url;
  }
  return code;
}

/** HMAC-SHA256(secret, label ‖ id ‖ CSR DER). */
export function pairingProof(code: Pick<PairingCode, 'id' | 'secret'>, csrDer: Uint8Array): Buffer {
  return createHmac('sha256', code.secret).update(PROOF_LABEL).update(code.id).update(csrDer).digest();
}
